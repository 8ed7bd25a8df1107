import type { Command } from 'commander';
import { parseUrl } from '../cli/parse.js';
import { notImplemented } from '../cli/not-implemented.js';

export function registerTrigger(program: Command): void {
  program
    .command('trigger')
    .description('Send one realistic, correctly signed delivery of a provider to a URL.')
    .argument('<provider>', 'oura, vital, open-wearables, standard or corsano')
    .argument('[event]', 'event to send (provider specific)')
    .requiredOption('--to <url>', 'receiver URL, e.g. http://127.0.0.1:8787/vital', parseUrl)
    .option('--secret <secret>', 'signing secret (default: the configured one)')
    .addHelpText('after', '\nExample:\n  $ wearhook trigger vital daily.data.sleep.created --to http://127.0.0.1:8787/vital')
    .action(() => notImplemented('trigger'));
}
