import type { Command } from 'commander';
import { RuntimeError } from '../errors.js';
import { listOf } from '../cli/parse.js';
import { PROVIDER_NAMES } from '../providers/types.js';

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description("A stored document's versions, in the provider's order, and the fields that changed between them.")
    .argument('<provider>', PROVIDER_NAMES.join(', '), (value: string) => listOf(PROVIDER_NAMES, 'provider')(value)[0]!)
    .argument('<type>', 'the document type, as stored (oura: sleep, daily_readiness, ...; vital: sleep, activity, ...)')
    .argument('<id>', "the provider's document id (the export's source_id)")
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook history oura sleep 8f9a5221-639e-4a85-81cb-4065ef23f979')
    .action(async (provider: string, type: string, id: string, _opts: unknown, cmd: Command) => {
      const [{ CliContext }, { documentHistoryOp, printHistory }] = await Promise.all([import('../cli/context.js'), import('../history/history.js')]);
      const ctx = CliContext.from(cmd);
      try {
        // SQLite or PostgreSQL.
        const store = await ctx.openStore();
        const history = await store.read(documentHistoryOp, provider, type, id).finally(() => store.close());
        if (!history) throw new RuntimeError(`No ${provider} ${type} document ${id} is stored; the export's source_id column names the ids.`);
        if (ctx.globals.json) ctx.output.resultJson(history);
        else printHistory(ctx.output, history);
      } finally {
        ctx.close();
      }
    });
}
