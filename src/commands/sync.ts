import type { Command } from 'commander';
import { parseDay, parseList } from '../cli/parse.js';
import { safeText } from '../cli/safe-text.js';
import { RuntimeError, UsageError } from '../errors.js';
import type { CliContext } from '../cli/context.js';
import type { SyncSummary } from '../sync/oura.js';
import { DEFAULT_OURA_SYNC_TYPES, OURA_SYNC_TYPES } from '../sync/oura-types.js';

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('Fetch Oura data by polling: the catch-up when webhooks go silent, and history.')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD or a duration back from now such as 7d (inclusive)', parseDay)
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD or e.g. 0d for today (inclusive)', parseDay)
    .option('--type <types>', `comma-separated data types (default ${DEFAULT_OURA_SYNC_TYPES.join(',')}; also ${OURA_SYNC_TYPES.slice(DEFAULT_OURA_SYNC_TYPES.length).join(', ')})`, parseList)
    .option('--user <id>', 'only this user')
    .option('--label <name>', 'only the user with this label')
    .option('--json', 'machine-readable summary')
    .addHelpText('after', '\nExample:\n  $ wearhook sync --from 2026-01-01 --to 2026-01-31 --label P001')
    .action(async (opts: { from: string; to: string; type?: string[]; user?: string; label?: string }, cmd: Command) => {
      if (opts.from > opts.to) throw new UsageError(`--from ${opts.from} is after --to ${opts.to}.`);
      const unknown = (opts.type ?? []).filter((t) => !OURA_SYNC_TYPES.includes(t));
      if (unknown.length > 0) throw new UsageError(`Unknown data type ${unknown.join(', ')}; choose from ${OURA_SYNC_TYPES.join(', ')}.`);
      const types = opts.type ? [...new Set(opts.type)] : [...DEFAULT_OURA_SYNC_TYPES];
      const [{ CliContext }, { selectOuraUsers }, { ouraAppCredentials, ouraHttpClient }, { syncOura }, { syncProgressBar }] = await Promise.all([
        import('../cli/context.js'),
        import('../providers/oura/accounts.js'),
        import('../providers/oura/http.js'),
        import('../sync/oura.js'),
        import('../sync/progress.js'),
      ]);
      const ctx = CliContext.from(cmd);
      // Needed for any refresh along the way: missing ones are a usage error up front, not a failure per user.
      ouraAppCredentials(ctx.settings);
      const store = await ctx.openStore();
      try {
        const users = await selectOuraUsers(store, { user: opts.user, label: opts.label }, true);
        const progress = syncProgressBar(ctx.output, users.length * types.length);
        let summary: SyncSummary;
        try {
          const http = ouraHttpClient({
            onRetry: ({ delayMs, reason }) => {
              const line = `${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`;
              // A rate-limit wait can be long: say so, or the command looks hung.
              if (reason.includes('429')) ctx.output.log(`Oura: ${line}`);
              else ctx.output.debug(line);
            },
          });
          summary = await syncOura({ store, settings: ctx.settings, http }, { from: opts.from, to: opts.to, types, users, onProgress: progress.onProgress });
        } finally {
          progress.stop();
        }
        if (ctx.output.json) ctx.output.resultJson(summary);
        else printSummary(ctx, summary);
        if (summary.failed > 0) {
          const reasons = summary.users.filter((u) => !u.ok).map((u) => `${u.label ?? u.user_id}: ${u.error}`);
          throw new RuntimeError(`sync failed for ${summary.failed} of ${summary.users.length} users. ${reasons.join(' ')}`);
        }
      } finally {
        await store.close();
        ctx.close();
      }
    });
}

function printSummary(ctx: CliContext, summary: SyncSummary): void {
  for (const user of summary.users) {
    const who = safeText(user.label ? `${user.label} (${user.user_id})` : user.user_id);
    ctx.output.result(`${who}: ${user.ok ? 'ok' : 'FAILED'}`);
    for (const t of user.types) {
      const unit = t.type === 'heartrate' ? 'samples' : 'documents';
      const counts =
        `${t.new} new, ${t.updated} updated, ${t.unchanged} unchanged ${unit}` +
        (t.older ? `, ${t.older} older than the stored version (kept as history)` : '') +
        (t.superseded ? `, ${t.superseded} no longer listed by Oura (superseded: kept, not exported)` : '');
      ctx.output.result(`  ${t.type.padEnd(24)} ${t.error ? `failed: ${safeText(t.error)}` : counts}`);
    }
  }
}
