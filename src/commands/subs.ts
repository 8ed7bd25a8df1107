import type { Command } from 'commander';
import type { CliContext } from '../cli/context.js';
import { listOf, parseDuration, parseList, parseUrl } from '../cli/parse.js';
import { canPrompt, confirm } from '../cli/confirm.js';
import { RuntimeError, UsageError } from '../errors.js';
import { OURA_WEBHOOK_DATA_TYPES, OURA_WEBHOOK_EVENT_TYPES, isKnownWebhookDataType } from '../providers/oura/data-types.js';
import type { SubscriptionDeps } from '../subscriptions/core.js';

/** What the subs commands run, loaded only when one of them runs (never for --help or another command). */
async function load() {
  const [context, http, api, core, render] = await Promise.all([
    import('../cli/context.js'),
    import('../providers/oura/http.js'),
    import('../providers/oura/subscriptions-api.js'),
    import('../subscriptions/core.js'),
    import('../subscriptions/render.js'),
  ]);
  return { ...context, ...http, ...api, ...core, ...render };
}
type Loaded = Awaited<ReturnType<typeof load>>;

const JSON_SHAPE = `
JSON (--json): an array of {id, callback_url, event_type, data_type, expiration_time,
expires_in_s, expired, expiring_soon, created_by_wearhook}; expires_in_s is negative once
expired, expiring_soon means within 7 days.`;

export function registerSubs(program: Command): void {
  const subs = program.command('subs').description('Manage Oura webhook subscriptions (application credentials).');

  subs
    .command('list')
    .description('List the application\'s subscriptions with their expiry (asks Oura; subscriptions made elsewhere appear too).')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `${JSON_SHAPE}\n\nExample:\n  $ wearhook subs list`)
    .action(async (_opts, cmd: Command) => {
      const loaded = await load();
      const { listAndSync, subscriptionsTable } = loaded;
      const ctx = loaded.CliContext.from(cmd);
      await withSubscriptionDeps(ctx, loaded, async (deps) => {
        const views = await listAndSync(deps);
        if (ctx.output.json) return ctx.output.resultJson(views);
        if (views.length === 0) return ctx.output.log('No subscriptions. Create some with `wearhook subs create --callback-url URL --all`.');
        ctx.output.result(subscriptionsTable(views, ctx.output.color));
        const expired = views.filter((v) => v.expired).length;
        const soon = views.filter((v) => v.expiring_soon).length;
        if (expired > 0) ctx.output.warn(`${expired} expired: Oura no longer delivers their events; create them again.`);
        if (soon > 0) ctx.output.warn(`${soon} expire within 7 days: run \`wearhook subs renew --expiring-within 7d\`.`);
      });
    });

  subs
    .command('create')
    .description(
      'Create subscriptions, one per (event type, data type) pair. Oura calls the callback URL at once with a challenge ' +
        '(GET ?verification_token=...&challenge=...): `wearhook listen` must already be running and reachable there, on the same database.',
    )
    .requiredOption('--callback-url <url>', 'public URL of the receiver, e.g. https://x.example/oura', parseUrl)
    .option('--data-type <types>', 'comma-separated data types (sleep,daily_readiness,...); unknown ones are passed on with a warning', parseList)
    .option('--all', `every data type: ${OURA_WEBHOOK_DATA_TYPES.join(', ')}`)
    .option('--event-type <types>', 'comma-separated event types (default: create,update,delete)', listOf(OURA_WEBHOOK_EVENT_TYPES, 'event type'))
    .option('--verification-token <token>', 'token Oura sends back in the challenge (default: random per subscription, kept as a hash for `listen`)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
A pair that already has a subscription to the same URL is left alone, so after a partial
failure the same command creates only what is missing. Exit 1 if any pair failed.
JSON (--json): an array of {status: "created"|"exists", ...subscription} or
{status: "failed", event_type, data_type, error}.

Example:
  $ wearhook listen --port 8787 &        # reachable at https://abc.loca.lt through a tunnel
  $ wearhook subs create --callback-url https://abc.loca.lt/oura --data-type sleep,daily_readiness`,
    )
    .action(async (opts: { callbackUrl: string; dataType?: string[]; all?: boolean; eventType?: string[]; verificationToken?: string }, cmd: Command) => {
      const loaded = await load();
      const { createSubscriptions, createOutcomeLine, createOutcomeJson, CallbackVerificationError, CALLBACK_VERIFICATION_HELP } = loaded;
      const ctx = loaded.CliContext.from(cmd);
      if (opts.all && opts.dataType) throw new UsageError('Give either --data-type or --all, not both.');
      if (!opts.all && !opts.dataType) throw new UsageError('Say which data types to subscribe to: --data-type sleep,daily_readiness or --all.');
      if (opts.verificationToken !== undefined && opts.verificationToken.trim() === '') throw new UsageError('--verification-token must not be empty.');
      const dataTypes = opts.all ? OURA_WEBHOOK_DATA_TYPES : opts.dataType!;
      for (const t of dataTypes.filter((d) => !isKnownWebhookDataType(d))) {
        ctx.output.warn(`"${t}" is not a data type Oura's API 1.27 documents; passing it on as is (newer versions add data types).`);
      }
      await withSubscriptionDeps(ctx, loaded, async (deps) => {
        const outcomes = await createSubscriptions(deps, {
          callbackUrl: opts.callbackUrl,
          dataTypes,
          eventTypes: opts.eventType,
          verificationToken: opts.verificationToken,
          onOutcome: (o) => {
            if (o.status === 'failed') ctx.output.log(createOutcomeLine(o, ctx.output.errColor));
            else if (!ctx.output.json) ctx.output.result(createOutcomeLine(o, ctx.output.color));
          },
        });
        if (ctx.output.json) ctx.output.resultJson(outcomes.map(createOutcomeJson));
        const failed = outcomes.filter((o) => o.status === 'failed');
        if (failed.some((o) => o.error instanceof CallbackVerificationError)) ctx.output.log(CALLBACK_VERIFICATION_HELP);
        if (failed.length > 0) {
          const pairs = failed.map((o) => `${o.data_type}/${o.event_type}`).join(', ');
          throw new RuntimeError(
            `${failed.length} of ${outcomes.length} subscriptions were not created (${pairs}); fix the cause above and run the same command again: existing ones are skipped.`,
          );
        }
      });
    });

  subs
    .command('renew')
    .description('Renew subscriptions before they expire; prints the new expiry of each.')
    .argument('[ids...]', 'subscription ids')
    .option('--all', 'every subscription')
    .option('--expiring-within <duration>', 'those expiring within e.g. 7d (expired ones included)', parseDuration)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
JSON (--json): an array of {status: "renewed", ...subscription} or {status: "failed", id, error}.
Nothing to renew is not an error (exit 0); any failed renewal exits 1.

Example:
  $ wearhook subs renew --expiring-within 7d`,
    )
    .action(async (ids: string[], opts: { all?: boolean; expiringWithin?: number }, cmd: Command) => {
      const loaded = await load();
      const { renewSubscriptions, renewOutcomeJson, renewOutcomeLine, formatSpan } = loaded;
      const ctx = loaded.CliContext.from(cmd);
      const given = [ids.length > 0, opts.all === true, opts.expiringWithin !== undefined].filter(Boolean).length;
      if (given !== 1) throw new UsageError('Say which subscriptions to renew: ids, --all, or --expiring-within 7d (one of them).');
      const selection = opts.all ? { all: true as const } : opts.expiringWithin !== undefined ? { expiringWithinMs: opts.expiringWithin } : { ids };
      await withSubscriptionDeps(ctx, loaded, async (deps) => {
        const outcomes = await renewSubscriptions(deps, selection);
        if (ctx.output.json) ctx.output.resultJson(outcomes.map(renewOutcomeJson));
        if (outcomes.length === 0) {
          ctx.output.log(
            opts.expiringWithin !== undefined
              ? `No subscription expires within ${formatSpan(opts.expiringWithin / 1000)}; nothing to renew.`
              : 'There are no subscriptions to renew.',
          );
        }
        for (const o of outcomes) {
          if (o.status === 'failed') ctx.output.log(renewOutcomeLine(o, ctx.output.errColor));
          else if (!ctx.output.json) ctx.output.result(renewOutcomeLine(o, ctx.output.color));
        }
        const failed = outcomes.filter((o) => o.status === 'failed');
        if (failed.length > 0) {
          throw new RuntimeError(`${failed.length} of ${outcomes.length} subscriptions were not renewed (${failed.map((o) => o.id).join(', ')}).`);
        }
      });
    });

  subs
    .command('delete')
    .description('Delete subscriptions (Oura stops delivering their events).')
    .argument('[ids...]', 'subscription ids')
    .option('--all', 'every subscription')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      `
On a terminal it asks first unless --yes. Without a terminal (scripts, CI), --all needs --yes
(exit 2 otherwise), while ids named one by one are deleted without asking: naming them is the
confirmation. A declined prompt deletes nothing and exits 1.
JSON (--json): an array of {status: "deleted", id} or {status: "failed", id, error}.

Example:
  $ wearhook subs delete --all --yes`,
    )
    .action(async (ids: string[], opts: { all?: boolean; yes?: boolean }, cmd: Command) => {
      const loaded = await load();
      const { selectSubscriptions, deleteSubscriptions, deleteOutcomeJson, deleteOutcomeLine } = loaded;
      const ctx = loaded.CliContext.from(cmd);
      if (opts.all && ids.length > 0) throw new UsageError('Give either subscription ids or --all, not both.');
      if (!opts.all && ids.length === 0) throw new UsageError('Say which subscriptions to delete: ids or --all.');
      const interactive = canPrompt();
      if (opts.all && !opts.yes && !interactive) {
        throw new UsageError('Refusing to delete every subscription without confirmation: there is no terminal to ask on; add --yes.');
      }
      await withSubscriptionDeps(ctx, loaded, async (deps) => {
        const targets = opts.all ? await selectSubscriptions(deps, { all: true }) : ids;
        if (targets.length === 0) {
          if (ctx.output.json) ctx.output.resultJson([]);
          return ctx.output.log('There are no subscriptions to delete.');
        }
        if (!opts.yes && interactive) {
          const what = targets.length === 1 ? `subscription ${targets[0]}` : `${targets.length} subscriptions`;
          if (!(await confirm(`Delete ${what}?`))) throw new RuntimeError('Aborted: nothing was deleted.');
        }
        const outcomes = await deleteSubscriptions(deps, targets);
        if (ctx.output.json) ctx.output.resultJson(outcomes.map(deleteOutcomeJson));
        for (const o of outcomes) {
          if (o.status === 'failed') ctx.output.log(deleteOutcomeLine(o, ctx.output.errColor));
          else if (!ctx.output.json) ctx.output.result(deleteOutcomeLine(o, ctx.output.color));
        }
        const failed = outcomes.filter((o) => o.status === 'failed');
        if (failed.length > 0) {
          throw new RuntimeError(`${failed.length} of ${outcomes.length} subscriptions were not deleted (${failed.map((o) => o.id).join(', ')}).`);
        }
      });
    });
}

/**
 * Run `fn` with the application's credentials (a usage error when missing, before the store
 * is opened), the one HTTP client and the store (SQLite or PostgreSQL), closed at the end.
 */
async function withSubscriptionDeps(ctx: CliContext, loaded: Loaded, fn: (deps: SubscriptionDeps) => Promise<void>): Promise<void> {
  try {
    const api = subscriptionsApi(ctx, loaded);
    const store = await ctx.openStore();
    try {
      await fn({ api, store });
    } finally {
      await store.close();
    }
  } finally {
    ctx.close();
  }
}

function subscriptionsApi(ctx: CliContext, { ouraHttpClient, OuraSubscriptionsApi }: Loaded): SubscriptionDeps['api'] {
  const http = ouraHttpClient({
    onRetry: ({ delayMs, reason }) => {
      const line = `${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`;
      // A rate-limit wait can be long: say so, or the command looks hung.
      if (reason.includes('429')) ctx.output.log(`Oura: ${line}`);
      else ctx.output.debug(line);
    },
  });
  return OuraSubscriptionsApi.fromSettings(ctx.settings, http);
}
