import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { listOf, parseDay, parseDuration, parseList, parsePositiveInt, parseSince, parseUntil, parseUrl } from '../cli/parse.js';
import { RuntimeError, UsageError } from '../errors.js';
import { PROVIDER_NAMES } from '../providers/types.js';
import { DELIVERY_STATUSES, STATUS_MEANING } from '../store/deliveries.js';

interface SearchFlags {
  provider?: string;
  status?: string;
  event?: string[];
  user?: string;
  grep?: string;
  since?: Date;
  until?: Date;
  limit: number;
  json?: boolean;
}

function parseDeliveryId(value: string): number {
  if (!/^#?\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a delivery id (see \`wearhook events list\`).`);
  return Number(value.replace('#', ''));
}

const oneOf = <T extends string>(allowed: readonly T[], what: string) => (value: string) => listOf(allowed, what)(value)[0]!;

const STATUS_HELP = DELIVERY_STATUSES.map((s) => `  ${s.padEnd(10)} ${STATUS_MEANING[s]}`).join('\n');
const TIME_HELP = 'YYYY-MM-DD, an ISO 8601 time, or a duration back from now such as 2h or 3d';

/** The search options `list` and `tail` share. */
function searchOptions(command: Command): Command {
  return command
    .option('--provider <name>', `${PROVIDER_NAMES.join(', ')}`, oneOf(PROVIDER_NAMES, 'provider'))
    .option('--event <glob>', 'event names matching a glob (* any text), comma-separated, e.g. sleep.* or daily.data.*', parseList)
    .option('--user <id>', 'the provider user id')
    .option('--grep <text>', 'deliveries whose body contains this text (case-insensitive)');
}

export function registerEvents(program: Command): void {
  const events = program.command('events').description('Search, follow, inspect and replay stored deliveries.');

  searchOptions(events.command('list').description('List stored deliveries, newest first.'))
    .option('--status <status>', `processing status: ${DELIVERY_STATUSES.join(', ')}`, oneOf(DELIVERY_STATUSES, 'status'))
    .option('--since <time>', `received at or after (${TIME_HELP})`, parseSince)
    .option('--until <time>', `received at or before (${TIME_HELP}; a day counts whole)`, parseUntil)
    .option('--limit <n>', 'at most this many', parsePositiveInt, 50)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Times are shown in your local zone with its offset; --json gives UTC instants.

Statuses:
${STATUS_HELP}

Examples:
  $ wearhook events list --status failed
  $ wearhook events list --event 'sleep.*' --user 2b3c... --since 3d
  $ wearhook events list --grep 'o-1234' --json`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ CliContext }, { listDeliveriesOp }, { printList, summary }] = await Promise.all([
        import('../cli/context.js'),
        import('../store/delivery-history.js'),
        import('../receiver/delivery-log.js'),
      ]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<SearchFlags>();
      // SQLite or PostgreSQL.
      const store = await ctx.openStore();
      try {
        const rows = await store.read(listDeliveriesOp, { ...flags, events: flags.event });
        if (flags.json) ctx.output.resultJson(rows.map(summary));
        else printList(ctx.output, rows);
      } finally {
        await store.close();
        ctx.close();
      }
    });

  searchOptions(events.command('tail').description('Print the latest deliveries; with --follow, new ones as they are stored (by any process).'))
    .option('-n, --limit <n>', 'how many of the latest to print first', (v: string) => (v === '0' ? 0 : parsePositiveInt(v)), 10)
    .option('-f, --follow', 'keep printing deliveries as they are stored, until Ctrl-C')
    .option('--json', 'NDJSON on stdout: one object per delivery')
    .addHelpText(
      'after',
      `
--follow reads the database, so it shows what any \`wearhook listen\` on it stores.

Examples:
  $ wearhook events tail --follow
  $ wearhook events tail -f --provider oura --event 'sleep.*' --json`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ CliContext }, { tailDeliveries }] = await Promise.all([import('../cli/context.js'), import('../receiver/tail.js')]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<SearchFlags & { follow?: boolean }>();
      // SQLite or PostgreSQL.
      const store = await ctx.openStore();
      try {
        await tailDeliveries(store, ctx.output, {
          filter: { provider: flags.provider, events: flags.event, user: flags.user, grep: flags.grep },
          limit: flags.limit,
          follow: flags.follow ?? false,
          json: flags.json ?? false,
        });
      } finally {
        await store.close();
        ctx.close();
      }
    });

  events
    .command('show')
    .description('Show one delivery in full: headers (secrets redacted), body, documents, forwards and hooks with every attempt.')
    .argument('<id>', 'delivery id', parseDeliveryId)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook events show 42')
    .action(async (id: number, _opts: unknown, cmd: Command) => {
      const [{ CliContext }, { getDeliveryOp }, { versionsFromDeliveryOp }, { outboxOfDeliveryOp }, { detail, printDetail }] = await Promise.all([
        import('../cli/context.js'),
        import('../store/deliveries.js'),
        import('../store/document-versions.js'),
        import('../store/outbox.js'),
        import('../receiver/delivery-log.js'),
      ]);
      const ctx = CliContext.from(cmd);
      // SQLite or PostgreSQL.
      const store = await ctx.openStore();
      try {
        const row = await store.read(getDeliveryOp, id);
        if (!row) throw new RuntimeError(`There is no delivery #${id}; see \`wearhook events list\`.`);
        const documents = await store.read(versionsFromDeliveryOp, id);
        const outbox = await store.read(outboxOfDeliveryOp, id);
        if (ctx.globals.json) ctx.output.resultJson(detail(row, documents, outbox));
        else printDetail(ctx.output, row, documents, outbox);
      } finally {
        await store.close();
        ctx.close();
      }
    });

  registerForwardRetry(events);

  events
    .command('replay')
    .description('Send stored deliveries again: byte for byte with their headers, or re-signed now with --resign.')
    .argument('[ids...]', 'delivery ids')
    .option('--since <time>', `every delivery since this time (${TIME_HELP})`, parseSince)
    .requiredOption('--to <url>', 'where to send them (a bare http://HOST:PORT adds /<provider>)', parseUrl)
    .option('--resign', 'sign anew with the configured secret of each provider: a fresh id and timestamp')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Without --resign the original signatures and timestamps go along, so a receiver that checks
timestamps (Standard Webhooks, Oura with wearhook) refuses deliveries older than 5 minutes.
--resign signs each delivery as its provider would now, with the secret \`wearhook listen\`
checks (Standard Webhooks: a new message id and timestamp; Oura: a new x-oura-timestamp; the
body stays byte for byte). Each line shows the receiver's status and its answer.

Examples:
  $ wearhook events replay 42 --to http://127.0.0.1:8787 --resign
  $ wearhook events replay --since 2h --to http://localhost:3000/webhooks`,
    )
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      const [{ CliContext }, { selectForReplayOp, replayLine }, { replayRows, isAccepted }, { providerConfigFromSettings }] = await Promise.all([
        import('../cli/context.js'),
        import('../receiver/delivery-log.js'),
        import('../forward/replay.js'),
        import('../providers/registry.js'),
      ]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<{ since?: Date; to: string; resign?: boolean; json?: boolean }>();
      if (ids.length > 0 && flags.since) throw new UsageError('Give delivery ids or --since, not both.');
      if (ids.length === 0 && !flags.since) throw new UsageError('Name the deliveries to replay: ids (see `wearhook events list`) or --since TIME.');
      const numbers = ids.map((id) => {
        try {
          return parseDeliveryId(id);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      });
      let results;
      // SQLite or PostgreSQL.
      const store = await ctx.openStore();
      try {
        const rows = await store.read(selectForReplayOp, numbers, flags.since);
        const resign = flags.resign ?? false;
        results = await replayRows(rows, flags.to, { resign, signing: resign ? providerConfigFromSettings(ctx.settings) : undefined });
      } finally {
        await store.close();
        ctx.close();
      }
      if (flags.json) ctx.output.resultJson(results);
      else for (const r of results) ctx.output.result(replayLine(r));
      const refused = results.filter((r) => !isAccepted(r));
      if (refused.length > 0) {
        throw new RuntimeError(`${refused.length} of ${results.length} replayed deliveries were not accepted (see above); they stay stored.`);
      }
    });

  events
    .command('coverage')
    .description('How many documents a webhook brought, and how many only reconciliation (or a sync) found, per participant.')
    .option('--from <date>', 'first document day, YYYY-MM-DD or e.g. 30d (inclusive; the provider\'s local day)', parseDay)
    .option('--to <date>', 'last document day, YYYY-MM-DD or e.g. 0d (inclusive)', parseDay)
    .option('--provider <name>', `${PROVIDER_NAMES.join(', ')}`, oneOf(PROVIDER_NAMES, 'provider'))
    .option('--user <id>', 'only this user')
    .option('--label <name>', 'only the accounts of this participant')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
A document counts as "by webhook" when a notification of it arrived (even if a reconciliation
fetched it first), "only by reconciliation" when none did and a pass of \`listen\` found it,
"only by sync" when only \`wearhook sync\` ever fetched it.

Example:
  $ wearhook events coverage --from 2026-03-01 --to 2026-03-31`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ CliContext }, { coverageOp, printCoverage }, { accountsOfOp }] = await Promise.all([
        import('../cli/context.js'),
        import('../sync/coverage.js'),
        import('../store/participants.js'),
      ]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<{ from?: string; to?: string; provider?: string; user?: string; label?: string; json?: boolean }>();
      if (flags.from && flags.to && flags.from > flags.to) throw new UsageError(`--from ${flags.from} is after --to ${flags.to}.`);
      if (flags.user && flags.label) throw new UsageError('Give --user or --label, not both.');
      // SQLite or PostgreSQL.
      const store = await ctx.openStore();
      try {
        let accounts: { provider: string; userId: string }[] | undefined;
        if (flags.label) {
          accounts = (await store.read(accountsOfOp, [flags.label])).map((a) => ({ provider: a.provider, userId: a.user_id }));
          if (accounts.length === 0) throw new RuntimeError(`No participant ${flags.label} with an account is known here; see \`wearhook participants list\`.`);
        }
        const result = await store.read(coverageOp, { from: flags.from, to: flags.to, provider: flags.provider, userIds: flags.user ? [flags.user] : undefined, accounts });
        if (flags.json) ctx.output.resultJson(result);
        else printCoverage(ctx.output, result);
      } finally {
        await store.close();
        ctx.close();
      }
    });
}

export function registerForwardRetry(events: Command): void {
  events
    .command('forward-retry')
    .description('Send a delivery\'s failed or waiting forwards again now, with a fresh retry window.')
    .argument('<id>', 'delivery id', parseDeliveryId)
    .option('--to <url>', 'only the forward to this URL', parseUrl)
    .option('--retry-for <duration>', 'the new retry window, for a running or the next listen (default 1h)', parseDuration, 3_600_000)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Only forwards that a \`wearhook listen --forward-to\` made are retried; to send a delivery
anywhere else, use \`wearhook events replay ID --to URL\`. Exit 1 unless each is delivered.

Example:
  $ wearhook events forward-retry 42`,
    )
    .action(async (id: number, _opts: unknown, cmd: Command) => {
      const [{ CliContext }, { retryForwards }, { outboxStoreOf }, { forwardRetryLine }] = await Promise.all([
        import('../cli/context.js'),
        import('../forward/retry.js'),
        import('../forward/outbox-store.js'),
        import('../receiver/delivery-log.js'),
      ]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<{ to?: string; retryFor: number; json?: boolean }>();
      let results;
      // SQLite or PostgreSQL.
      const store = await ctx.openStore();
      try {
        results = await retryForwards(outboxStoreOf(store), id, { target: flags.to, retryForMs: flags.retryFor });
      } finally {
        await store.close();
        ctx.close();
      }
      if (flags.json) ctx.output.resultJson(results);
      else for (const r of results) ctx.output.result(forwardRetryLine(id, r));
      const notDelivered = results.filter((r) => r.outcome === 'sent' && r.event.status !== 'delivered').length;
      if (notDelivered > 0) throw new RuntimeError(`${notDelivered} of ${results.length} forwards of #${id} were not delivered (see above); they stay in the outbox.`);
    });
}
