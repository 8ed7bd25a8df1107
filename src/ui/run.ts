import type { CliContext } from '../cli/context.js';
import { errorMessage } from '../errors.js';
import { untilStopSignal } from '../receiver/listen-run.js';
import type { LiveFeed } from './live.js';
import { startConsole, type ConsoleServer } from './server.js';

/** Starting the console for `wearhook ui` and `listen --ui`: the URL said once, the browser opened on request. */

export interface OpenConsoleOptions {
  port?: number;
  openBrowser: boolean;
  live?: LiveFeed;
  receiverPort?: number;
}

export async function openConsole(ctx: CliContext, options: OpenConsoleOptions): Promise<ConsoleServer> {
  const server = await startConsole({
    dbPath: ctx.dbPath,
    settings: ctx.settings,
    port: options.port,
    live: options.live,
    receiverPort: options.receiverPort,
  });
  ctx.output.log(`console on ${server.url} (127.0.0.1 only; the link carries this run's access token)`);
  if (ctx.output.json) ctx.output.ndjson({ type: 'ui', url: server.url });
  if (options.openBrowser) {
    const { default: open } = await import('open');
    await open(server.url).catch((err: unknown) => ctx.output.log(`(could not open a browser: ${errorMessage(err)}; open the URL above yourself)`));
  }
  return server;
}

/** `wearhook ui`: the console over the database as it is, until SIGINT/SIGTERM. */
export async function runUi(ctx: CliContext, options: { port?: number; openBrowser: boolean }): Promise<void> {
  const stopped = untilStopSignal();
  const server = await openConsole(ctx, options);
  const signal = await stopped;
  ctx.output.log(`stopping on ${signal}`);
  await server.close();
  ctx.close();
}
