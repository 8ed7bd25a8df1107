import type { Command } from 'commander';
import { parsePort } from '../cli/parse.js';

interface UiFlags {
  port?: number;
  browser: boolean;
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('Open the local web console: deliveries live, replay, participants as charts, subscriptions.')
    .option('--port <port>', 'port on 127.0.0.1 (default 4040 or the next free one; 0 picks any free one)', parsePort)
    .option('--no-browser', 'print the URL without opening a browser')
    .addHelpText(
      'after',
      `
The console reads the database as it is, and shows deliveries stored by a running
\`wearhook listen\` on the same database as they arrive. It listens on 127.0.0.1 only; the URL
it prints carries a random access token, and requests without it get 403.
\`wearhook listen --ui\` runs the same console inside the receiver.

Example:
  $ wearhook ui --no-browser`,
    )
    .action(async (_opts: UiFlags, cmd: Command) => {
      const [{ CliContext }, { runUi }] = await Promise.all([import('../cli/context.js'), import('../ui/run.js')]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<UiFlags>();
      await runUi(ctx, { port: flags.port, openBrowser: flags.browser });
    });
}
