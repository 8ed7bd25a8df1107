import type { Command } from 'commander';
import { parsePort } from '../cli/parse.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Check the set-up: database, config, secrets, Oura credentials, users, subscriptions, tunnels, ports.')
    .option('--port <port>', 'the receiver port to check (default 8787, as wearhook listen uses)', parsePort, 8787)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Each line is ok, warn or fail, with what to do; exit 1 when any check fails. Nothing is
created, upgraded or sent anywhere (ports are tried on 127.0.0.1).

Examples:
  $ wearhook doctor
  $ wearhook doctor --json | jq '.[] | select(.status != "ok")'`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ CliContext }, { runDoctor }, { printChecks }] = await Promise.all([
        import('../cli/context.js'),
        import('../doctor/checks.js'),
        import('../doctor/render.js'),
      ]);
      const ctx = CliContext.from(cmd);
      const { port } = cmd.opts<{ port: number }>();
      const checks = await runDoctor({
        settings: ctx.settings,
        dbFlag: ctx.globals.db,
        ports: [
          { port, what: 'wearhook listen', flag: 'listen --port' },
          { port: 8723, what: 'the wearhook auth oura callback', flag: 'auth oura --port' },
        ],
      });
      if (ctx.globals.json) ctx.output.resultJson(checks);
      else printChecks(ctx.output, checks);
      const failed = checks.filter((c) => c.status === 'fail').length;
      if (failed > 0) {
        ctx.output.log(`${failed} check${failed === 1 ? '' : 's'} failed; see the fixes above.`);
        process.exitCode = 1;
      }
    });
}
