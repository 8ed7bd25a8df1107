import readline from 'node:readline';

/**
 * Ask a yes/no question on stderr and read the answer from stdin; only "y" or "yes" is a yes,
 * and end of input (Ctrl-D) is a no.
 */
export function confirm(
  question: string,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input, output });
    let answer: boolean | undefined;
    rl.once('close', () => {
      if (answer === undefined) output.write('\n');
      resolve(answer ?? false);
    });
    rl.question(`${question} [y/N] `, (text) => {
      answer = /^y(es)?$/i.test(text.trim());
      rl.close();
    });
  });
}

/** A person can answer a prompt: both the keyboard side and the prompt side are terminals. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}
