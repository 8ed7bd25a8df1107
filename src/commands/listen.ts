import { Option, type Command } from 'commander';
import { parseDuration, parseList, parsePort, parsePositiveInt, parseUrl } from '../cli/parse.js';
import type { PublicFlags } from '../tunnels/listen-plan.js';
import type { ReconcileFlags } from '../receiver/reconcile-plan.js';
import { TUNNEL_KINDS } from '../tunnels/tunnel.js';
import { UsageError } from '../errors.js';

interface ListenFlags extends PublicFlags, ReconcileFlags {
  port: number;
  host: string;
  forwardTo?: string[];
  exec?: string[];
  retryFor?: number;
  execTimeout?: number;
  retryBaseMs?: number;
  ouraFetchRate?: number;
  events?: string;
  verificationToken?: string;
  json?: boolean;
  ui?: boolean;
  uiPort?: number;
  browser: boolean;
}

/** A repeatable option: every value, in order. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerListen(program: Command): void {
  program
    .command('listen')
    .description('Run the local receiver: verify, store durably, acknowledge, then fetch and normalise.')
    .option('--port <port>', 'port (0 picks a free one)', parsePort, 8787)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .addOption(new Option('--tunnel <kind>', 'give the receiver a public URL').choices(TUNNEL_KINDS).default('none'))
    .option('--tunnel-server <url>', 'localtunnel server (env WEARHOOK_LOCALTUNNEL_HOST; default https://localtunnel.me)', parseUrl)
    .option('--public-url <url>', 'public URL of a tunnel or proxy you run yourself', parseUrl)
    .option('--health-interval <seconds>', 'how often the public URL is checked end to end (default 30)', parsePositiveInt)
    .option('--subscribe', 'create Oura subscriptions for the public URL while running (needs OURA_CLIENT_ID/SECRET)')
    .option('--data-type <types>', 'with --subscribe: comma-separated Oura data types (with --reconcile: those to reconcile)', parseList)
    .option('--all', 'with --subscribe: every Oura data type')
    .option('--keep-subscriptions', 'with --subscribe: leave the subscriptions in place on exit (always on PostgreSQL, where other receivers rely on them)')
    .option('--reconcile', 'poll the authorised Oura users for what no notification brought (on by default with --subscribe)')
    .option('--no-reconcile', 'with --subscribe: no periodic reconciliation')
    .option('--reconcile-interval <duration>', 'how often to reconcile, e.g. 6h, 30m, 2s (default 6h; also once at start)', parseDuration)
    .option('--reconcile-days <n>', 'days each reconciliation looks back, besides every day since a user\'s last data (default 7)', parsePositiveInt)
    .option('--no-catch-up', 'with --subscribe: do not sync what Oura sent while wearhook was stopped or unreachable')
    .option('--renew-check <duration>', 'with --subscribe: how often to renew subscriptions within 7 days of expiry (default 1h)', parseDuration)
    .option('--forward-to <[filter=]url>', 'pass each new delivery on to your app, retried until it answers 2xx; repeatable, e.g. oura:sleep.*=http://localhost:3000/hook', collect)
    .option('--exec <filter=command>', 'run a command after each matching delivery\'s work is done, the delivery and its documents as JSON on stdin; repeatable', collect)
    .option('--retry-for <duration>', 'how long forwards and hooks are retried (5xx, 429, connection errors, a failing hook)', parseDuration, 3_600_000)
    .option('--exec-timeout <duration>', 'a hook still running after this is killed (and retried)', parseDuration, 30_000)
    .addOption(new Option('--retry-base-ms <ms>', 'the first wait between attempts (tests)').argParser(parsePositiveInt).hideHelp())
    .addOption(new Option('--oura-fetch-rate <per-second>', 'on PostgreSQL: Oura fetches per second all receivers share (tests)').argParser(parsePositiveInt).hideHelp())
    .option('--events <filter>', 'show, forward and hook only matching events, e.g. oura:sleep.* or vital:daily.data.*')
    .option('--verification-token <token>', 'token to accept in Oura\'s challenge')
    .option('--json', 'NDJSON on stdout')
    .option('--ui', 'also serve the web console (127.0.0.1 only, its own port, never through the tunnel)')
    .option('--ui-port <port>', 'with --ui: the console\'s port (default 4040 or the next free one; 0 picks any)', parsePort)
    .option('--no-browser', 'with --ui: print the console\'s URL without opening a browser')
    .addHelpText(
      'after',
      `
Routes: POST /oura, /vital, /open-wearables, /standard, /corsano; GET /oura (Oura's challenge); GET /healthz.
Every delivery is stored; --events only limits what is shown, forwarded and hooked.
--forward-to and --exec take the --events filter syntax before the '=' (for --exec, '*' = every event).
Forwards go in arrival order per target, with the original headers and bytes; 5xx, 429 and
connection errors are retried with growing waits (Retry-After honoured) for --retry-for, and a
restart resumes them. A hook's command runs without a shell (write sh -c '...' for one) with
WEARHOOK_EVENT, WEARHOOK_PROVIDER, WEARHOOK_USER_ID and WEARHOOK_DELIVERY_ID set. Attempts show
in \`wearhook events show ID\`.

Examples:
  $ wearhook listen --port 8787 --json
  $ wearhook listen --forward-to http://localhost:3000/webhooks --events 'oura:sleep.*,vital:daily.data.*'
  $ wearhook listen --forward-to 'oura:sleep.*=http://localhost:3000/sleep' --forward-to 'vital=http://localhost:4000/hook'
  $ wearhook listen --exec 'oura:daily_readiness.*=python3 on_readiness.py' --exec "*=sh -c 'cat >> deliveries.ndjson'"
  $ wearhook listen --tunnel localtunnel --subscribe --data-type sleep,daily_readiness
  $ wearhook listen --reconcile --reconcile-interval 1h   # poll authorised Oura users, no subscriptions
  $ wearhook listen --public-url https://hooks.example.org --json
  $ wearhook listen --ui                     # and the web console on http://127.0.0.1:4040/<token>/`,
    )
    .action(async (_opts: ListenFlags, cmd: Command) => {
      const [{ CliContext }, { runListen }, { planPublicSide }, { planReconcile }] = await Promise.all([
        import('../cli/context.js'),
        import('../receiver/listen.js'),
        import('../tunnels/listen-plan.js'),
        import('../receiver/reconcile-plan.js'),
      ]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<ListenFlags>();
      if (flags.uiPort !== undefined && !flags.ui) throw new UsageError('--ui-port only applies with --ui.');
      if (flags.ui && flags.uiPort !== undefined && flags.uiPort !== 0 && flags.uiPort === flags.port) {
        throw new UsageError(`The console needs a port of its own: ${flags.uiPort} is the receiver's (--port). Pick another --ui-port.`);
      }
      const { parseForwardTarget, parseHookTarget } = await import('../forward/targets.js');
      const targets = [...(flags.forwardTo ?? []).map(parseForwardTarget), ...(flags.exec ?? []).map(parseHookTarget)];
      const options = {
        port: flags.port,
        host: flags.host,
        targets,
        retryForMs: flags.retryFor,
        hookTimeoutMs: flags.execTimeout,
        retryBaseMs: flags.retryBaseMs,
        events: flags.events,
        verificationToken: flags.verificationToken,
        json: flags.json ?? false,
        ui: flags.ui ? { port: flags.uiPort, openBrowser: flags.browser } : undefined,
      };
      const reconcilePlan = planReconcile(flags);
      const publicPlan = await planPublicSide(ctx, flags);
      const { isPostgresUrl } = await import('../store/location.js');
      if (isPostgresUrl(ctx.dbPath)) {
        const { runListenPostgres } = await import('../receiver/listen-postgres.js');
        return runListenPostgres(ctx, { ...options, ouraFetchRate: flags.ouraFetchRate }, publicPlan, reconcilePlan);
      }
      await runListen(ctx, options, publicPlan, reconcilePlan);
    });
}
