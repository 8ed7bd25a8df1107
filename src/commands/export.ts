import type { Command } from 'commander';
import { parseDay, listOf } from '../cli/parse.js';
import { notImplemented } from '../cli/not-implemented.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Write sleep, HRV, readiness and activity tables from the store as CSV, JSON or NDJSON.')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD (inclusive)', parseDay)
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD (inclusive)', parseDay)
    .option('--type <types>', 'comma-separated: sleep,hrv,readiness,activity', listOf(['sleep', 'hrv', 'readiness', 'activity'] as const, 'type'))
    .option('--format <format>', 'csv, json or ndjson', 'csv')
    .option('--out <path>', 'file, directory (several types) or - for stdout')
    .option('--user <id>', 'only this provider user id')
    .option('--label <name>', 'only the user with this label')
    .addHelpText('after', '\nExample:\n  $ wearhook export --from 2026-01-01 --to 2026-01-31 --type sleep --format csv > sleep.csv')
    .action(() => notImplemented('export'));
}
