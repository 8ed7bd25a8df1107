import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { listOf, parsePositiveInt, parseTime, parseUrl } from '../cli/parse.js';
import { RuntimeError, UsageError } from '../errors.js';
import { PROVIDER_NAMES } from '../providers/types.js';
import { DELIVERY_STATUSES, STATUS_MEANING } from '../store/deliveries.js';

interface ListFlags {
  provider?: string[];
  status?: string[];
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

export function registerEvents(program: Command): void {
  const events = program.command('events').description('Inspect and replay stored deliveries.');

  events
    .command('list')
    .description('List stored deliveries, newest first.')
    .option('--provider <name>', `${PROVIDER_NAMES.join(', ')}`, oneOf(PROVIDER_NAMES, 'provider'))
    .option('--status <status>', `processing status: ${DELIVERY_STATUSES.join(', ')}`, oneOf(DELIVERY_STATUSES, 'status'))
    .option('--since <time>', 'received at or after (ISO 8601, YYYY-MM-DD or e.g. 2h)', parseTime)
    .option('--until <time>', 'received at or before (ISO 8601, YYYY-MM-DD or e.g. 30m)', parseTime)
    .option('--limit <n>', 'at most this many', parsePositiveInt, 50)
    .option('--json', 'machine-readable output')
    .addHelpText('after', `\nStatuses:\n${STATUS_HELP}\n\nExample:\n  $ wearhook events list --status failed`)
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ CliContext }, { listDeliveries }, { printList, summary }] = await Promise.all([
        import('../cli/context.js'),
        import('../store/deliveries.js'),
        import('../receiver/delivery-log.js'),
      ]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<{ provider?: string; status?: string } & Omit<ListFlags, 'provider' | 'status'>>();
      try {
        const rows = listDeliveries(ctx.openDb(), flags);
        if (flags.json) ctx.output.resultJson(rows.map(summary));
        else printList(ctx.output, rows);
      } finally {
        ctx.close();
      }
    });

  events
    .command('show')
    .description('Show one delivery in full (secret headers redacted).')
    .argument('<id>', 'delivery id', parseDeliveryId)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook events show 42')
    .action(async (id: number, _opts: unknown, cmd: Command) => {
      const [{ CliContext }, { getDelivery }, { versionsFromDelivery }, { detail, printDetail }] = await Promise.all([
        import('../cli/context.js'),
        import('../store/deliveries.js'),
        import('../store/document-versions.js'),
        import('../receiver/delivery-log.js'),
      ]);
      const ctx = CliContext.from(cmd);
      try {
        const db = ctx.openDb();
        const row = getDelivery(db, id);
        if (!row) throw new RuntimeError(`There is no delivery #${id}; see \`wearhook events list\`.`);
        const documents = versionsFromDelivery(db, id);
        if (ctx.globals.json) ctx.output.resultJson(detail(row, documents));
        else printDetail(ctx.output, row, documents);
      } finally {
        ctx.close();
      }
    });

  events
    .command('replay')
    .description('Send stored deliveries again, byte for byte with their headers.')
    .argument('[ids...]', 'delivery ids')
    .option('--since <time>', 'every delivery since this time (ISO 8601, YYYY-MM-DD or e.g. 2h)', parseTime)
    .requiredOption('--to <url>', 'where to send them', parseUrl)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
The original signatures are sent as they were: a receiver that checks timestamps (Standard
Webhooks, wearhook itself) refuses deliveries older than 5 minutes.

Example:
  $ wearhook events replay --since 2h --to http://localhost:3000/webhooks`,
    )
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      const [{ CliContext }, { replay, selectForReplay }] = await Promise.all([import('../cli/context.js'), import('../receiver/delivery-log.js')]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<{ since?: Date; to: string; json?: boolean }>();
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
      try {
        results = await replay(selectForReplay(ctx.openDb(), numbers, flags.since), flags.to);
      } finally {
        ctx.close();
      }
      if (flags.json) ctx.output.resultJson(results);
      else {
        for (const r of results) {
          ctx.output.result(`#${r.id} ${r.provider} ${r.event_type ?? '-'} -> ${r.url}: ${r.http_status ?? r.error} (${r.latency_ms} ms)`);
        }
      }
      const refused = results.filter((r) => r.http_status === null || r.http_status < 200 || r.http_status >= 300);
      if (refused.length > 0) {
        throw new RuntimeError(`${refused.length} of ${results.length} replayed deliveries were not accepted (see above); they stay stored.`);
      }
    });
}
