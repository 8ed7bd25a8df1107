import type { Command } from 'commander';
import { CliContext } from '../cli/context.js';
import { parsePort, parseUrl } from '../cli/parse.js';
import { UsageError } from '../errors.js';
import { runListen } from '../receiver/listen.js';

interface ListenFlags {
  port: number;
  host: string;
  tunnel: string;
  publicUrl?: string;
  subscribe?: boolean;
  forwardTo?: string;
  events?: string;
  verificationToken?: string;
  json?: boolean;
}

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
    .option('--events <filter>', 'show and forward only matching events, e.g. oura:sleep.* or vital:daily.data.*')
    .option('--verification-token <token>', 'token to accept in Oura\'s challenge')
    .option('--json', 'NDJSON on stdout')
    .addHelpText(
      'after',
      `
Routes: POST /oura, /vital, /open-wearables, /standard, /corsano; GET /oura (Oura's challenge); GET /healthz.
Every delivery is stored; --events only limits what is shown and forwarded.

Examples:
  $ wearhook listen --port 8787 --json
  $ wearhook listen --forward-to http://localhost:3000/webhooks --events 'oura:sleep.*,vital:daily.data.*'`,
    )
    .action(async (_opts: ListenFlags, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<ListenFlags>();
      if (flags.tunnel !== 'none' || flags.subscribe) {
        throw new UsageError('--tunnel and --subscribe are not available yet; run your own tunnel and pass --public-url.');
      }
      await runListen(ctx, {
        port: flags.port,
        host: flags.host,
        forwardTo: flags.forwardTo,
        events: flags.events,
        verificationToken: flags.verificationToken,
        publicUrl: flags.publicUrl,
        json: flags.json ?? false,
      });
    });
}
