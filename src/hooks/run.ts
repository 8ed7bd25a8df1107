import { spawn } from 'node:child_process';

/** What became of one run of a hook command. */
export interface HookRun {
  /** The exit code, or null when it did not exit by itself (killed, or never started). */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** It could not be started (not found, not executable): running it again will not help. */
  startError?: string;
  durationMs: number;
  /** The last few KiB of what it wrote on stdout and stderr, interleaved. */
  output: string;
}

export interface HookRunOptions {
  argv: readonly string[];
  input: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Aborted when the receiver stops: the hook is ended and its run not counted. */
  signal?: AbortSignal;
  /** How long a hook asked to stop (SIGTERM) may take before SIGKILL. */
  graceMs?: number;
}

const OUTPUT_LIMIT = 4096;

/**
 * Run one hook: the program itself, no shell (a user who wants one writes `sh -c '...'`), in a
 * process group of its own so that its children end with it; the JSON on stdin; `env` added to
 * ours. At `timeoutMs` it gets SIGTERM, then SIGKILL after `graceMs`.
 */
export function runHook(options: HookRunOptions): Promise<HookRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    const child = spawn(options.argv[0]!, options.argv.slice(1), {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const end = (signal: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        // The whole group: `sh -c 'sleep 100'` leaves no sleep behind.
        process.kill(process.platform === 'win32' ? child.pid : -child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    const stop = () => {
      end('SIGTERM');
      killTimer ??= setTimeout(() => end('SIGKILL'), options.graceMs ?? 2_000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', stop, { once: true });
    const finish = (run: Omit<HookRun, 'durationMs' | 'output' | 'timedOut'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', stop);
      resolve({ ...run, timedOut, durationMs: Math.round(performance.now() - started), output });
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const reason = err.code === 'ENOENT' ? `${options.argv[0]}: command not found` : err.code === 'EACCES' ? `${options.argv[0]}: permission denied` : err.message;
      finish({ exitCode: null, signal: null, startError: reason });
    });
    child.on('close', (code, signal) => finish({ exitCode: code, signal }));
    // A hook that does not read its input is not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  });
}
