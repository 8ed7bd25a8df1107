import { Chalk, type ChalkInstance } from 'chalk';
import { safeText } from './safe-text.js';

export { safeField, safeText } from './safe-text.js';

export interface GlobalOptions {
  db?: string;
  json?: boolean;
  color?: boolean;
  debug?: boolean;
}

/** Where a command's words go: results on stdout, logs and progress on stderr. */
export class Output {
  readonly color: ChalkInstance;
  readonly errColor: ChalkInstance;
  readonly json: boolean;
  readonly debugEnabled: boolean;

  constructor(
    options: GlobalOptions,
    readonly stdout: NodeJS.WriteStream = process.stdout,
    readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    // The contract: no colour anywhere once stdout is not a terminal (`wearhook listen > log`),
    // and stderr's own lines only when stderr is one too.
    const allowed = options.color !== false && !process.env.NO_COLOR && stdout.isTTY === true;
    this.color = new Chalk({ level: allowed ? 1 : 0 });
    this.errColor = new Chalk({ level: allowed && stderr.isTTY ? 1 : 0 });
    this.json = options.json ?? false;
    this.debugEnabled = options.debug === true || process.env.WEARHOOK_DEBUG === '1';
  }

  /** A result line on stdout. */
  result(text: string): void {
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** One JSON value on stdout (`--json`). */
  resultJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One NDJSON line on stdout. */
  ndjson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  log(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /** A warning; it often quotes what failed, so its text is shown with control characters escaped. */
  warn(text: string): void {
    this.stderr.write(`${this.errColor.yellow('warning:')} ${safeText(text, { keepNewlines: true })}\n`);
  }

  debug(text: string): void {
    if (this.debugEnabled) this.stderr.write(`${this.errColor.gray(`debug: ${text}`)}\n`);
  }

  /** Progress bars and spinners only when a person is watching stderr. */
  get interactive(): boolean {
    return this.stderr.isTTY === true;
  }
}
