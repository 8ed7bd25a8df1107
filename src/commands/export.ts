import { Option, type Command } from 'commander';
import { parseDay, parseLabel, parseList, listOf } from '../cli/parse.js';
import { UsageError } from '../errors.js';
import { EXPORT_FORMATS, EXPORT_TYPES, type ExportFormat, type ExportType } from '../export/tables.js';

interface ExportFlags {
  from: string;
  to: string;
  type?: ExportType[];
  format: ExportFormat;
  out?: string;
  user?: string;
  participant?: string[];
  label?: string;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Write sleep, HRV, readiness and activity tables from the store as CSV, JSON or NDJSON.')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD or a duration back from now such as 7d (inclusive; the provider\'s local day)', parseDay)
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD or e.g. 0d for today (inclusive)', parseDay)
    .option('--type <types>', `comma-separated: ${EXPORT_TYPES.join(',')} (default: all)`, listOf(EXPORT_TYPES, 'type'))
    .addOption(new Option('--format <format>', 'file format (json when --json is given)').choices(EXPORT_FORMATS).default('csv'))
    .option('--out <path>', 'a file, a directory (one <type>.<format> per type), or - for stdout (default for one type)')
    .option('--user <id>', 'only this provider user id')
    .option('--participant <labels>', 'only these participants (comma-separated labels), every account linked to them', (v: string, prev?: string[]) => parseList(v, prev).map(parseLabel))
    .option('--label <name>', 'the same as --participant with one label')
    .addHelpText(
      'after',
      `
Examples:
  $ wearhook export --from 2026-01-01 --to 2026-01-31 --type sleep > sleep.csv
  $ wearhook export --from 2026-01-01 --to 2026-01-31 --format ndjson --out ./study-export
  $ wearhook export --from 2026-01-01 --to 2026-01-31 --type hrv --participant P001,P002 --format json --out hrv.json`,
    )
    .action(async (flags: ExportFlags, cmd: Command) => {
      const [{ CliContext }, { runExport }] = await Promise.all([import('../cli/context.js'), import('../export/export.js')]);
      const ctx = CliContext.from(cmd);
      // --json asks for one JSON value on stdout: the table as a JSON array, unless --format says otherwise.
      const format = ctx.globals.json && cmd.getOptionValueSource('format') === 'default' ? 'json' : flags.format;
      if (ctx.globals.json && format !== 'json') {
        throw new UsageError(`--json writes JSON; drop --format ${format} or use --format json.`);
      }
      try {
        const types = flags.type ? [...new Set(flags.type)] : [...EXPORT_TYPES];
        const result = await runExport(ctx.openDb(), {
          from: flags.from,
          to: flags.to,
          types,
          format,
          out: flags.out,
          user: flags.user,
          participants: participantsOf(flags),
        });
        const written = result.tables.filter((table) => table.file !== null);
        for (const table of written) ctx.output.log(`wrote ${table.file} (${table.rows} ${table.type} rows)`);
        // Tables in files leave stdout free for the one JSON value: what was written.
        if (ctx.globals.json && written.length > 0) ctx.output.resultJson(written);
      } finally {
        ctx.close();
      }
    });
}

function participantsOf(flags: ExportFlags): string[] | undefined {
  if (flags.participant && flags.label !== undefined) throw new UsageError('Give either --participant or --label, not both.');
  if (flags.label !== undefined) return [flags.label];
  return flags.participant ? [...new Set(flags.participant)] : undefined;
}
