import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { WearhookError, errorMessage } from '../errors.js';
import { safeText } from './output.js';

/** Run the CLI and return the exit code; errors become one sentence on stderr. */
export async function main(argv: string[]): Promise<number> {
  // `wearhook export ... | head`: the reader left, so there is nobody to write to. Stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  // Past a file size limit (ulimit -f) a write then fails with EFBIG, reported like a full disk
  // (the receiver answers 503 and keeps running), instead of the signal killing the process.
  process.on('SIGXFSZ', () => {});
  const program = await buildProgram(argv);
  const debug = argv.includes('--debug') || process.env.WEARHOOK_DEBUG === '1';
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Asked-for help and version are successes; help shown for a missing subcommand
      // (`wearhook auth`) and every other parse failure are usage errors.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      return 2;
    }
    const code = err instanceof WearhookError ? err.exitCode : 1;
    // A message may quote a remote party (an OAuth error_description, an API's detail): never raw to the terminal.
    process.stderr.write(`error: ${safeText(errorMessage(err), { keepNewlines: true })}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}
