import { Option, type Command } from 'commander';
import { listOf, parseDay, parseLabel, parseList } from '../cli/parse.js';
import { UsageError } from '../errors.js';
import { DEFAULT_EXPORT_TYPES, EXPORT_FORMATS, EXPORT_TYPES, type ExportFormat, type ExportType } from '../export/names.js';

interface ExportFlags {
  from?: string;
  to?: string;
  type?: string[];
  format: ExportFormat;
  out?: string;
  user?: string;
  participant?: string[];
  label?: string;
  codebook?: boolean;
  pseudonymize?: boolean;
  shiftDates?: string | true;
}

const SHIFT_MODES = ['weekday', 'any'] as const;

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Write tables of the stored data (sleep, HRV, readiness, activity by default; heart rate, hypnograms, tags and more with --type) as CSV, JSON, NDJSON or Parquet, with a codebook.')
    .option('--from <date>', 'first day, YYYY-MM-DD or a duration back from now such as 7d (inclusive; the provider\'s local day)', parseDay)
    .option('--to <date>', 'last day, YYYY-MM-DD or e.g. 0d for today (inclusive)', parseDay)
    .option('--type <types>', `comma-separated tables, or all: ${EXPORT_TYPES.join(',')} (default: ${DEFAULT_EXPORT_TYPES.join(',')})`, listOf([...EXPORT_TYPES, 'all'], 'type'))
    .addOption(new Option('--format <format>', 'file format (json when --json is given)').choices(EXPORT_FORMATS).default('csv'))
    .option('--out <path>', 'a file, a directory (one <type>.<format> per type and datapackage.json, the codebook), or - for stdout (default for one type)')
    .option('--user <id>', 'only this provider user id')
    .option('--participant <labels>', 'only these participants (comma-separated labels), every account linked to them', (v: string, prev?: string[]) => parseList(v, prev).map(parseLabel))
    .option('--label <name>', 'the same as --participant with one label')
    .option('--codebook', 'print the codebook (a Frictionless datapackage.json with --json) of the tables instead of exporting them')
    .option('--pseudonymize', 'a copy to share: user ids, labels and document ids as keyed pseudonyms, free text dropped (study key from WEARHOOK_STUDY_KEY or config study.key)')
    .option('--shift-dates [mode]', 'with --pseudonymize: move each participant\'s dates by whole weeks derived from the key (weekday, the default) or by any number of days (any)')
    .addHelpText(
      'after',
      `
Examples:
  $ wearhook export --from 2026-01-01 --to 2026-01-31 --type sleep > sleep.csv
  $ wearhook export --from 2026-01-01 --to 2026-01-31 --type all --format parquet --out ./study-export
  $ wearhook export --from 2026-01-01 --to 2026-01-31 --type hrv --participant P001,P002 --format json --out hrv.json
  $ WEARHOOK_STUDY_KEY=... wearhook export --from 2026-01-01 --to 2026-03-31 --type all --pseudonymize --shift-dates --out ./to-share
  $ wearhook export --codebook --type heart_rate,sleep_stages`,
    )
    .action(async (flags: ExportFlags, cmd: Command) => {
      const types = typesOf(flags.type);
      const { CliContext } = await import('../cli/context.js');
      const ctx = CliContext.from(cmd);
      // --json asks for one JSON value on stdout: the table as a JSON array, unless --format says otherwise.
      const format = ctx.globals.json && !flags.codebook && cmd.getOptionValueSource('format') === 'default' ? 'json' : flags.format;
      if (ctx.globals.json && !flags.codebook && format !== 'json') {
        throw new UsageError(`--json writes JSON; drop --format ${format} or use --format json.`);
      }
      const participants = participantsOf(flags);
      const deidentification = await deidentificationOf(flags, () => ctx.settings.get('study.key'));
      if (flags.codebook) {
        const { buildCodebook, renderCodebook } = await import('../export/codebook.js');
        const codebook = buildCodebook({ types, format, from: flags.from, to: flags.to, user: flags.user, participants, deidentification });
        if (ctx.globals.json) ctx.output.resultJson(codebook);
        else ctx.output.result(renderCodebook(codebook));
        return;
      }
      if (!flags.from || !flags.to) throw new UsageError('export needs --from and --to (or --codebook to print the codebook only).');
      const [{ runExport }, { exportProgressBar }] = await Promise.all([import('../export/export.js'), import('../export/progress.js')]);
      const progress = await exportProgressBar(ctx.output);
      const store = await ctx.openStore();
      try {
        const result = await runExport(store, {
          from: flags.from,
          to: flags.to,
          types,
          format,
          out: flags.out,
          user: flags.user,
          participants,
          deidentification,
          onProgress: progress.onProgress,
        });
        progress.stop();
        const written = result.tables.filter((table) => table.file !== null);
        for (const table of written) ctx.output.log(`wrote ${table.file} (${table.rows} ${table.type} rows)`);
        if (result.codebook) ctx.output.log(`wrote ${result.codebook} (the codebook)`);
        // Tables in files leave stdout free for the one JSON value: what was written.
        if (ctx.globals.json && written.length > 0) ctx.output.resultJson(written);
      } finally {
        progress.stop();
        await store.close();
        ctx.close();
      }
    });
}

function typesOf(given: string[] | undefined): ExportType[] {
  if (!given) return [...DEFAULT_EXPORT_TYPES];
  if (given.includes('all')) return [...EXPORT_TYPES];
  return [...new Set(given as ExportType[])];
}

async function deidentificationOf(flags: ExportFlags, studyKey: () => string | undefined) {
  if (flags.shiftDates !== undefined && !flags.pseudonymize) throw new UsageError('--shift-dates goes with --pseudonymize.');
  if (!flags.pseudonymize) return undefined;
  const shift = flags.shiftDates === undefined ? 'none' : flags.shiftDates === true ? 'weekday' : flags.shiftDates;
  if (shift !== 'none' && !(SHIFT_MODES as readonly string[]).includes(shift)) {
    throw new UsageError(`--shift-dates ${shift}: give weekday (whole weeks, the default) or any.`);
  }
  const { checkStudyKey } = await import('../export/deidentify.js');
  return { key: checkStudyKey(studyKey()), shiftDates: shift as 'none' | 'weekday' | 'any' };
}

function participantsOf(flags: ExportFlags): string[] | undefined {
  if (flags.participant && flags.label !== undefined) throw new UsageError('Give either --participant or --label, not both.');
  if (flags.label !== undefined) return [flags.label];
  return flags.participant ? [...new Set(flags.participant)] : undefined;
}
