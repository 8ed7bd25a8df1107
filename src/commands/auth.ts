import type { Command } from 'commander';
import { parsePort, parsePositiveInt } from '../cli/parse.js';
import { notImplemented } from '../cli/not-implemented.js';

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('Authorize wearhook to read a user\'s data (Oura OAuth 2.0).');

  auth
    .command('oura')
    .description('Log a user in through the Oura OAuth flow with a loopback redirect on 127.0.0.1.')
    .option('--port <port>', 'loopback port; register http://localhost:<port>/callback on the Oura app', parsePort, 8723)
    .option('--scopes <scopes>', 'space-separated scopes', 'email personal daily heartrate workout tag session spo2')
    .option('--no-browser', 'only print the authorize URL (for SSH and CI)')
    .option('--label <name>', 'a name for this user (e.g. a study participant id)')
    .option('--timeout <seconds>', 'give up after this many seconds', parsePositiveInt, 300)
    .addHelpText('after', '\nExample:\n  $ wearhook auth oura --label P001 --no-browser')
    .action(() => notImplemented('auth oura'));

  auth
    .command('list')
    .description('List authorized users (never their tokens).')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook auth list --json')
    .action(() => notImplemented('auth list'));

  auth
    .command('logout')
    .description('Revoke and forget a user\'s tokens.')
    .option('--user <id>', 'the provider user id')
    .option('--label <name>', 'the label given at auth time')
    .option('--all', 'every user')
    .addHelpText('after', '\nExample:\n  $ wearhook auth logout --label P001')
    .action(() => notImplemented('auth logout'));
}
