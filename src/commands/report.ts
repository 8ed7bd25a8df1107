import type { Command } from 'commander';
import { parseDay, parseLabel, parseList } from '../cli/parse.js';

interface ReportFlags {
  from?: string;
  to?: string;
  participant?: string[];
  failOnFlags?: boolean;
}

/** Days a report covers when --from is not given. */
const DEFAULT_DAYS = 30;

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Completeness per participant and day: what arrived, HRV minutes, wear time, and who needs attention (flags).')
    .option('--from <date>', `first day, YYYY-MM-DD (default: ${DEFAULT_DAYS} days up to --to)`, parseDay)
    .option('--to <date>', 'last day, YYYY-MM-DD (default: today)', parseDay)
    .option('--participant <labels>', 'only these participants (comma-separated labels)', (v: string, prev?: string[]) => parseList(v, prev).map(parseLabel))
    .option('--fail-on-flags', 'exit 1 when any flag is raised (for cron)')
    .option('--json', 'one object per participant and day')
    .addHelpText(
      'after',
      `
Flags: no_data_2d (nothing that day nor the day before), needs_reauth (an Oura grant gone or never
given, a sender's connection broken), subscription_expiring (an Oura subscription expires within
7 days), outside_enrolment (data outside the participant's --start/--end).

Examples:
  $ wearhook report
  $ wearhook report --from 2026-03-01 --to 2026-03-31 --participant P001,P002 --json
  $ wearhook report --fail-on-flags > /dev/null || mail -s "study needs attention" me@example.org`,
    )
    .action(async (flags: ReportFlags, cmd: Command) => {
      const [{ CliContext }, { computeReport, reportRows, localToday }, { renderReport }, { addDays }, { CredentialStore }, { UsageError }] =
        await Promise.all([
          import('../cli/context.js'),
          import('../report/core.js'),
          import('../report/terminal.js'),
          import('../util/days.js'),
          import('../credentials/token-store.js'),
          import('../errors.js'),
        ]);
      const ctx = CliContext.from(cmd);
      try {
        const now = new Date();
        const to = flags.to ?? localToday(now, null);
        const from = flags.from ?? addDays(to, -(DEFAULT_DAYS - 1));
        if (from > to) throw new UsageError(`--from ${from} is after --to ${to}; give the earlier day first.`);
        // SQLite or PostgreSQL.
        const store = await ctx.openStore();
        const report = await computeReport(store, {
          from,
          to,
          participants: flags.participant,
          now,
          ouraUsersWithTokens: new Set(new CredentialStore().list('oura')),
        }).finally(() => store.close());
        if (ctx.output.json) ctx.output.resultJson(reportRows(report));
        else for (const line of renderReport(report, { width: ctx.output.stdout.columns ?? 80, color: ctx.output.color })) ctx.output.result(line);
        const flagged = report.participants.filter((p) => p.flags.length > 0);
        if (flags.failOnFlags && flagged.length > 0) {
          ctx.output.log(`${flagged.length} of ${report.participants.length} participants have flags: ${flagged.map((p) => `${p.label} (${p.flags.join(', ')})`).join('; ')}.`);
          process.exitCode = 1;
        }
      } finally {
        ctx.close();
      }
    });
}
