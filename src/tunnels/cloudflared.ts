import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { LossSignal, dialHost, type LocalTarget, type TunnelProvider, type TunnelSession } from './tunnel.js';

/**
 * A Cloudflare quick tunnel: `cloudflared tunnel --url http://HOST:PORT` prints a random
 * https://<words>.trycloudflare.com URL in its log (stderr) and serves it while it runs.
 */

const INSTALL_HINT =
  'install it (https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/) or use --tunnel localtunnel';
const KEEP_LOG_LINES = 5;

/** The quick tunnel's URL in a line of cloudflared's log; its API host is not one. */
export function parseQuickTunnelUrl(line: string): string | undefined {
  for (const match of line.matchAll(/https:\/\/([a-z0-9-]+)\.trycloudflare\.com\b/g)) {
    if (match[1] !== 'api') return match[0];
  }
  return undefined;
}

/** The executable `name` in the directories of PATH, as a shell would find it. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export interface CloudflaredOptions {
  env?: NodeJS.ProcessEnv;
  /** How long cloudflared may take to print its URL. */
  readyTimeoutMs?: number;
}

export class CloudflaredProvider implements TunnelProvider {
  readonly description = 'cloudflared (quick tunnel)';
  readonly reconnectable = true;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: CloudflaredOptions = {}) {
    this.env = options.env ?? process.env;
  }

  /** Fail before anything starts when cloudflared is not installed. */
  check(): string {
    const binary = findOnPath('cloudflared', this.env);
    if (!binary) throw new UsageError(`--tunnel cloudflared needs the cloudflared program, which is not on PATH: ${INSTALL_HINT}.`);
    return binary;
  }

  async open(target: LocalTarget): Promise<TunnelSession> {
    const binary = this.check();
    const host = dialHost(target.host);
    const local = `http://${host.includes(':') ? `[${host}]` : host}:${target.port}`;
    const child = spawn(binary, ['tunnel', '--no-autoupdate', '--url', local], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const publicUrl = await waitForUrl(child, this.options.readyTimeoutMs ?? 60_000).catch(async (err: unknown) => {
      await stop(child);
      throw err;
    });
    const loss = new LossSignal();
    child.once('exit', (code, signal) => loss.fire(`cloudflared exited (${signal ?? `code ${code}`})`));
    return { publicUrl, onLost: (listener) => loss.on(listener), close: () => stop(child) };
  }
}

/** Read cloudflared's output until the URL shows up, it exits, or time runs out. */
function waitForUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const recent: string[] = [];
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const url = parseQuickTunnelUrl(line);
        if (url) return finish(() => resolve(url));
        if (line.trim()) recent.push(line.trim());
        if (recent.length > KEEP_LOG_LINES) recent.shift();
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(() =>
        reject(new RuntimeError(`cloudflared exited (${signal ?? `code ${code}`}) before giving a URL${recent.length ? `; it said: ${recent.join(' | ')}` : ''}.`)),
      );
    const onError = (err: Error) => finish(() => reject(new RuntimeError(`cloudflared could not be started: ${err.message}; ${INSTALL_HINT}.`)));
    const timer = setTimeout(
      () => finish(() => reject(new RuntimeError(`cloudflared gave no URL within ${Math.round(timeoutMs / 1000)} s${recent.length ? `; it said: ${recent.join(' | ')}` : ''}.`))),
      timeoutMs,
    );
    function finish(settle: () => void): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining its output so cloudflared never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      settle();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** SIGTERM, then SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
