import { spawn } from 'node:child_process';

/** Quote one argument for a POSIX shell command line. */
export const shellQuote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Run a shell command line on a pseudo-terminal (util-linux `script`): stdin, stdout and stderr
 * are a terminal unless the command line redirects them, the only way to see what a person at a
 * terminal sees. `input` is typed at the prompt; the environment is minimal plus `env`.
 */
export function runOnTerminal(commandLine: string, env: Record<string, string>, input = ''): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', commandLine, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'xterm-256color', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}
