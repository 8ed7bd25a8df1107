import { RuntimeError, UsageError } from '../errors.js';

/**
 * A secret given on stdin (`config set KEY -`), so that it never appears in the process list or
 * the shell's history. Piped: everything read, without one trailing newline. At a terminal: a
 * prompt on stderr, typed without echo, ended by Enter.
 */
export async function readSecretFromStdin(prompt: string): Promise<string> {
  const stdin = process.stdin;
  const value = stdin.isTTY ? await readHidden(stdin, prompt) : (await readAll(stdin)).replace(/\r?\n$/, '');
  if (value === '') throw new UsageError('Nothing was given on stdin; pipe the value in, e.g. `printf %s "$SECRET" | wearhook config set KEY -`.');
  return value;
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function readHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (outcome: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      outcome();
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done(() => resolve(value));
        if (char === '\u0003') return done(() => reject(new RuntimeError('Cancelled; nothing was saved.')));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else value += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
