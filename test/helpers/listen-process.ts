import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from './cli.js';

export interface ListenProcess {
  child: ChildProcess;
  url: string;
  /** NDJSON objects written so far. */
  lines(): Record<string, unknown>[];
  stderr(): string;
  /** Resolves when a line matching `predicate` has been written. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Send a signal (unless it has exited) and resolve with the exit code (or the signal that killed it). */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
  /** Resolves with the exit code (or signal) once it exits by itself. */
  exited: Promise<number | NodeJS.Signals | null>;
}

/** The environment of a CLI test: the user's own wearhook settings scrubbed, colour off. */
export function cliEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('WEARHOOK_') || key.startsWith('OURA_') || key === 'NGROK_AUTHTOKEN') delete env[key];
  }
  return { ...env, NO_COLOR: '1', ...extra } as NodeJS.ProcessEnv;
}

export interface ProcessOptions {
  /** Runs it under another command (e.g. `prlimit --nofile=256:256 --`). */
  prefix?: string[];
  /** Called with everything written to stderr so far, as it grows (before the ready line too). */
  onStderr?: (stderr: string) => void;
}

/** `wearhook listen --port 0 --json` as a child process, ready when its first NDJSON line says so. */
export function startListen(env: Record<string, string | undefined>, args: string[] = [], options: ProcessOptions = {}): Promise<ListenProcess> {
  return startNdjsonProcess(['listen', '--port', '0', '--json', ...args], env, 'ready', options);
}

/**
 * A wearhook command that writes NDJSON (`listen --json`, `ui --json`) as a child process, ready
 * once it has written a line of type `readyType`; `url` is that line's url.
 */
export async function startNdjsonProcess(
  args: string[],
  env: Record<string, string | undefined>,
  readyType: string,
  options: ProcessOptions = {},
): Promise<ListenProcess> {
  const command = [...(options.prefix ?? []), process.execPath, BIN, ...args];
  const child = spawn(command[0]!, command.slice(1), { env: cliEnv(env), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const parsed: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    let nl;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      if (line.trim()) parsed.push(JSON.parse(line) as Record<string, unknown>);
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    options.onStderr?.(stderr);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));

  const waitForLine: ListenProcess['waitForLine'] = (predicate, what, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = parsed.find(predicate);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${args[0]} never wrote ${what}; stderr:\n${stderr}\nlines:\n${parsed.map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      const onExit = () => {
        cleanup();
        reject(new Error(`${args[0]} exited before writing ${what}; stderr:\n${stderr}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
      };
      waiters.add(check);
      child.once('exit', onExit);
      check();
    });

  const ready = await waitForLine((l) => l.type === readyType, `its ${readyType} line`);
  return {
    child,
    url: ready.url as string,
    lines: () => [...parsed],
    stderr: () => stderr,
    waitForLine,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
