import type { Command } from 'commander';
import { parseDay, parseList } from '../cli/parse.js';
import { notImplemented } from '../cli/not-implemented.js';

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('Fetch Oura data by polling: the catch-up when webhooks go silent, and history.')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD (inclusive)', parseDay)
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD (inclusive)', parseDay)
    .option('--type <types>', 'comma-separated data types', parseList)
    .option('--user <id>', 'only this user')
    .option('--label <name>', 'only the user with this label')
    .addHelpText('after', '\nExample:\n  $ wearhook sync --from 2026-01-01 --to 2026-01-31 --label P001')
    .action(() => notImplemented('sync'));
}
