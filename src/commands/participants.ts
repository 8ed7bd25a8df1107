import type { Command } from 'commander';
import { parseDay, parseDuration, parseLabel, parseTimeZone, parseUrl } from '../cli/parse.js';
import type { CliContext } from '../cli/context.js';
import type { Store } from '../store/store.js';
import type { Participant } from '../participants/core.js';
import { UsageError } from '../errors.js';
import { alignColumns } from '../cli/columns.js';

/** `none` clears a zone or a day with `participants set` (commander turns a parsed null into '', so '' stands for it until `cleared`). */
function orNone(parse: (value: string) => string) {
  return (value: string): string => (value === 'none' ? '' : parse(value));
}

function cleared(value: string | undefined): string | null | undefined {
  return value === '' ? null : value;
}

/** Run `fn` with the command's context and its store (a SQLite file or PostgreSQL, as `--db` names it). */
async function withStore<T>(cmd: Command, fn: (ctx: CliContext, store: Store) => Promise<T>): Promise<T> {
  const { CliContext } = await import('../cli/context.js');
  const ctx = CliContext.from(cmd);
  try {
    const store = await ctx.openStore();
    try {
      return await fn(ctx, store);
    } finally {
      await store.close();
    }
  } finally {
    ctx.close();
  }
}

export function registerParticipants(program: Command): void {
  const participants = program
    .command('participants')
    .description('The people of a study: one label across providers, a time zone, an enrolment window, remote enrolment links.');

  participants
    .command('add')
    .description('Add a participant.')
    .argument('<label>', 'the participant\'s label, e.g. P001 (shown in every export and report)', parseLabel)
    .option('--tz <zone>', 'IANA time zone (e.g. Europe/Amsterdam): every local timestamp of this participant is exported in it', parseTimeZone)
    .option('--start <date>', 'first day of enrolment, YYYY-MM-DD', parseDay)
    .option('--end <date>', 'last day of enrolment, YYYY-MM-DD', parseDay)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook participants add P001 --tz Europe/Amsterdam --start 2026-03-01 --end 2026-05-31')
    .action(async (label: string, opts: { tz?: string; start?: string; end?: string }, cmd: Command) => {
      const { addParticipantOp } = await import('../participants/core.js');
      await withStore(cmd, async (ctx, store) => {
        const added = await store.run(addParticipantOp, label, opts);
        if (ctx.output.json) ctx.output.resultJson(added);
        else ctx.output.result(`Added participant ${describe(added)}.`);
      });
    });

  participants
    .command('link')
    .description('Make a provider account this participant\'s (Oura, Vital, Open Wearables, Corsano).')
    .argument('<label>', 'the participant', parseLabel)
    .argument('<provider>', 'oura, vital, open-wearables or corsano')
    .argument('<user-id>', 'the provider\'s user id, as its deliveries name it')
    .option('--move', 'move the account from the participant that holds it now')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  $ wearhook participants link P001 vital 9f3c2d1e-0b7a-4c55-8e2f-1a2b3c4d5e6f\n  $ wearhook participants link P001 oura 7a1b2c3d-oura-user',
    )
    .action(async (label: string, provider: string, userId: string, opts: { move?: boolean }, cmd: Command) => {
      const { linkParticipantAccountOp } = await import('../participants/core.js');
      await withStore(cmd, async (ctx, store) => {
        const result = await store.run(linkParticipantAccountOp, { label, provider, userId, move: opts.move });
        if (ctx.output.json) ctx.output.resultJson(result);
        else if (result.unchanged) ctx.output.result(`The ${provider} account ${userId} already belongs to ${label}.`);
        else ctx.output.result(`Linked the ${provider} account ${userId} to ${label}${result.moved_from ? ` (moved from ${result.moved_from})` : ''}.`);
      });
    });

  participants
    .command('unlink')
    .description('Take an account away from its participant (its data stays, unlabelled).')
    .argument('<provider>', 'oura, vital, open-wearables or corsano')
    .argument('<user-id>', 'the provider\'s user id')
    .option('--json', 'machine-readable output')
    .action(async (provider: string, userId: string, _opts: unknown, cmd: Command) => {
      const { unlinkParticipantAccountOp } = await import('../participants/core.js');
      await withStore(cmd, async (ctx, store) => {
        const result = await store.run(unlinkParticipantAccountOp, provider, userId);
        if (ctx.output.json) ctx.output.resultJson(result);
        else ctx.output.result(`Unlinked the ${provider} account ${userId} from ${result.label}.`);
      });
    });

  participants
    .command('list')
    .description('List participants, their zone, enrolment window and accounts.')
    .option('--json', 'machine-readable output')
    .action(async (_opts: unknown, cmd: Command) => {
      const { listParticipantViewsOp } = await import('../participants/core.js');
      await withStore(cmd, async (ctx, store) => {
        const all = await store.read(listParticipantViewsOp);
        if (ctx.output.json) {
          ctx.output.resultJson(all);
          return;
        }
        if (all.length === 0) {
          ctx.output.log('No participants yet; add one with `wearhook participants add P001` (or `wearhook auth oura --label P001`).');
          return;
        }
        const rows = [
          ['LABEL', 'TZ', 'START', 'END', 'ACCOUNTS'],
          ...all.map((p) => [p.label, p.tz ?? '-', p.start ?? '-', p.end ?? '-', accountsText(p) || '-']),
        ];
        for (const line of alignColumns(rows)) ctx.output.result(line);
      });
    });

  participants
    .command('set')
    .description('Change a participant\'s zone, enrolment window or label (`none` clears a value).')
    .argument('<label>', 'the participant', parseLabel)
    .option('--tz <zone>', 'IANA time zone, or none', orNone(parseTimeZone))
    .option('--start <date>', 'first day of enrolment, YYYY-MM-DD, or none', orNone(parseDay))
    .option('--end <date>', 'last day of enrolment, YYYY-MM-DD, or none', orNone(parseDay))
    .option('--rename <label>', 'a new label (exports show the new one for all of its data)', parseLabel)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook participants set P001 --end 2026-06-15 --tz none')
    .action(async (label: string, opts: { tz?: string; start?: string; end?: string; rename?: string }, cmd: Command) => {
      if (opts.tz === undefined && opts.start === undefined && opts.end === undefined && opts.rename === undefined) {
        throw new UsageError('Nothing to change: give --tz, --start, --end or --rename.');
      }
      const { setParticipantOp } = await import('../participants/core.js');
      await withStore(cmd, async (ctx, store) => {
        const changed = await store.run(setParticipantOp, label, { tz: cleared(opts.tz), start: cleared(opts.start), end: cleared(opts.end), rename: opts.rename });
        if (ctx.output.json) ctx.output.resultJson(changed);
        else ctx.output.result(`Participant ${describe(changed)}.`);
      });
    });

  participants
    .command('invite')
    .description('A one-use link a participant follows at home to connect their Oura ring (remote enrolment).')
    .argument('<label>', 'the participant (created if new)', parseLabel)
    .option('--public-url <url>', 'the public URL of the receiver (default: that of the `listen` running on this database)', parseUrl)
    .option('--expires-in <duration>', 'how long the link works, e.g. 48h or 14d', parseDuration, 7 * 86_400_000)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
The link is <public URL>/enroll/<token>; Oura sends the participant back to <public URL>/oauth/callback,
which must be listed as a redirect URI of your Oura application. It works once, until it expires.

Example:
  $ wearhook listen --public-url https://study.example.org &
  $ wearhook participants invite P007`,
    )
    .action(async (label: string, opts: { publicUrl?: string; expiresIn: number }, cmd: Command) => {
      const { createInviteOp } = await import('../participants/enrolment.js');
      await withStore(cmd, async (ctx, store) => {
        const invite = await store.run(createInviteOp, { label, publicUrl: opts.publicUrl, ttlMs: opts.expiresIn });
        if (ctx.output.json) {
          ctx.output.resultJson(invite);
          return;
        }
        if (invite.created_participant) ctx.output.log(`Added participant ${label}.`);
        ctx.output.log(`Enrolment link for ${label}, valid once until ${invite.expires_at}; send it to the participant:`);
        ctx.output.result(invite.url);
        ctx.output.log(`Oura sends them back to ${invite.redirect_uri}: it must be a redirect URI of your Oura application.`);
      });
    });

  participants
    .command('remove')
    .description('Forget a participant and its links; its data and any Oura tokens stay.')
    .argument('<label>', 'the participant', parseLabel)
    .option('--json', 'machine-readable output')
    .action(async (label: string, _opts: unknown, cmd: Command) => {
      const { removeParticipantOp } = await import('../participants/core.js');
      await withStore(cmd, async (ctx, store) => {
        const removed = await store.run(removeParticipantOp, label);
        if (ctx.output.json) ctx.output.resultJson(removed);
        else ctx.output.result(`Removed participant ${label}; the data of ${accountsText(removed) || 'its accounts'} stays in the store, unlabelled.`);
      });
    });
}

function describe(p: Participant): string {
  const window = p.start || p.end ? `, enrolled ${p.start ?? '...'} to ${p.end ?? '...'}` : '';
  return `${p.label}${p.tz ? ` (${p.tz})` : ''}${window}`;
}

function accountsText(p: Participant): string {
  return p.accounts.map((a) => `${a.provider}:${a.user_id}${a.authorization && a.authorization !== 'authorized' ? ` (${a.authorization})` : ''}`).join(', ');
}
