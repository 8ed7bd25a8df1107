import type { Command } from 'commander';
import { parsePositiveInt, parseTime, parseUrl } from '../cli/parse.js';
import { notImplemented } from '../cli/not-implemented.js';

export function registerEvents(program: Command): void {
  const events = program.command('events').description('Inspect and replay stored deliveries.');

  events
    .command('list')
    .description('List stored deliveries, newest first.')
    .option('--provider <name>', 'oura, vital, open-wearables, standard or corsano')
    .option('--status <status>', 'processing status (e.g. failed, pending)')
    .option('--limit <n>', 'at most this many', parsePositiveInt, 50)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook events list --status failed')
    .action(() => notImplemented('events list'));

  events
    .command('show')
    .description('Show one delivery in full (secret headers redacted).')
    .argument('<id>', 'delivery id')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook events show 42')
    .action(() => notImplemented('events show'));

  events
    .command('replay')
    .description('Send stored deliveries again, byte for byte with their headers.')
    .argument('[ids...]', 'delivery ids')
    .option('--since <time>', 'every delivery since this time (ISO 8601, YYYY-MM-DD or e.g. 2h)', parseTime)
    .requiredOption('--to <url>', 'where to send them', parseUrl)
    .addHelpText('after', '\nExample:\n  $ wearhook events replay --since 2h --to http://localhost:3000/webhooks')
    .action(() => notImplemented('events replay'));
}
