import type { Command } from 'commander';

export function registerDb(program: Command): void {
  const db = program.command('db').description('The database itself: move it between SQLite and PostgreSQL.');

  db.command('copy')
    .description(
      'Copy every table of one wearhook database into a new, empty one (ids and versions kept, rows counted on both sides, all or nothing): a SQLite file into PostgreSQL, or back.',
    )
    .option('--from <db>', 'the database to copy: a file or postgres:// URL (default: the one --db / WEARHOOK_DB names)')
    .requiredOption('--to <db>', 'the empty database to copy into: postgres://USER:PASSWORD@HOST:PORT/DB, or a new file')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nStop every `wearhook listen` and `sync` on the source first.\n\nExample:\n  $ wearhook db copy --from ~/.local/share/wearhook/wearhook.db --to postgres://wearhook:PASSWORD@db.internal:5432/wearhook',
    )
    .action(async (opts: { from?: string; to: string }, cmd: Command) => {
      const [{ CliContext }, { copyDatabase }] = await Promise.all([import('../cli/context.js'), import('../store/copy.js')]);
      const ctx = CliContext.from(cmd);
      const result = await copyDatabase(opts.from ?? ctx.dbPath, opts.to, {
        onTable: (table, rows) => ctx.output.log(`copied ${rows} ${table}`),
      });
      if (ctx.globals.json) {
        ctx.output.resultJson(result);
        return;
      }
      const total = Object.values(result.tables).reduce((a, b) => a + b, 0);
      ctx.output.result(`copied ${total} rows in ${Object.keys(result.tables).length} tables from ${result.from} to ${result.to} (schema ${result.schema}); every table's rows counted on both sides`);
    });
}
