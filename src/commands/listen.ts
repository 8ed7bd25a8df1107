import type { Command } from 'commander';
import { parsePort, parseUrl } from '../cli/parse.js';
import { notImplemented } from '../cli/not-implemented.js';

export function registerListen(program: Command): void {
  program
    .command('listen')
    .description('Run the local receiver: verify, store durably, acknowledge, then fetch and normalise.')
    .option('--port <port>', 'port (0 picks a free one)', parsePort, 8787)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--tunnel <kind>', 'none, localtunnel, ngrok or cloudflared', 'none')
    .option('--tunnel-server <url>', 'localtunnel server (env WEARHOOK_LOCALTUNNEL_HOST)', parseUrl)
    .option('--public-url <url>', 'public URL of a tunnel or proxy you run yourself', parseUrl)
    .option('--subscribe', 'create Oura subscriptions for the public URL while running')
    .option('--forward-to <url>', 'pass each accepted delivery on to your app', parseUrl)
    .option('--events <filter>', 'show and forward only matching events, e.g. oura:sleep.*')
    .option('--verification-token <token>', 'token to accept in Oura\'s challenge')
    .option('--json', 'NDJSON on stdout')
    .addHelpText('after', '\nExample:\n  $ wearhook listen --port 8787 --json')
    .action(() => notImplemented('listen'));
}
