import type { Command } from 'commander';
import { parseDuration, parseList, parseUrl } from '../cli/parse.js';
import { notImplemented } from '../cli/not-implemented.js';

export function registerSubs(program: Command): void {
  const subs = program.command('subs').description('Manage Oura webhook subscriptions (application credentials).');

  subs
    .command('list')
    .description('List the application\'s subscriptions with their expiry.')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook subs list')
    .action(() => notImplemented('subs list'));

  subs
    .command('create')
    .description('Create subscriptions. Oura calls the callback URL at once with a challenge: `wearhook listen` must already be reachable there.')
    .requiredOption('--callback-url <url>', 'public URL of the receiver, e.g. https://x.example/oura', parseUrl)
    .option('--data-type <types>', 'comma-separated data types (sleep,daily_readiness,...)', parseList)
    .option('--all', 'every data type')
    .option('--event-type <types>', 'comma-separated event types', parseList, ['create', 'update', 'delete'])
    .option('--verification-token <token>', 'token Oura sends back in the challenge (default: random per subscription)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook subs create --callback-url https://abc.loca.lt/oura --data-type sleep,daily_readiness')
    .action(() => notImplemented('subs create'));

  subs
    .command('renew')
    .description('Renew subscriptions before they expire.')
    .argument('[ids...]', 'subscription ids')
    .option('--all', 'every subscription')
    .option('--expiring-within <duration>', 'those expiring within e.g. 7d', parseDuration)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook subs renew --expiring-within 7d')
    .action(() => notImplemented('subs renew'));

  subs
    .command('delete')
    .description('Delete subscriptions.')
    .argument('[ids...]', 'subscription ids')
    .option('--all', 'every subscription')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText('after', '\nExample:\n  $ wearhook subs delete --all --yes')
    .action(() => notImplemented('subs delete'));
}
