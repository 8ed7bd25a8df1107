import { split } from 'shlex';
import { redactUrl } from '../config/setting-keys.js';
import { UsageError } from '../errors.js';
import { parseEventFilter, type EventFilter } from '../receiver/event-filter.js';

/**
 * The targets of a `listen` run, as given on the command line:
 * `--forward-to [FILTER=]URL` (repeatable) and `--exec FILTER=COMMAND` (repeatable).
 * FILTER is the `--events` syntax: `oura:sleep.*`, `vital`, `*.created`, comma-separated.
 */

export interface ForwardTarget {
  kind: 'forward';
  url: string;
  /** The filter as written, or null for every delivery. */
  filterText: string | null;
  filter: EventFilter;
}

export interface HookTarget {
  kind: 'hook';
  /** The command line as written: how the hook is known in the database and in `events show`. */
  command: string;
  /** Program and arguments, split as a POSIX shell would split words, without running a shell. */
  argv: string[];
  filterText: string | null;
  filter: EventFilter;
}

export type OutboxTargetSpec = ForwardTarget | HookTarget;

/** A filter is made of provider names, event-name characters, `*`, `:` and commas: never `/`, spaces or quotes. */
const FILTER_RE = /^[A-Za-z0-9_.*:,-]+$/;

function filterOf(text: string, flag: string): EventFilter {
  try {
    return parseEventFilter(text);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message.replace(/^--events: /, '')}`);
  }
}

/** `http://localhost:3000/hook` or `oura:sleep.*,vital=http://localhost:3000/hook`. */
export function parseForwardTarget(value: string): ForwardTarget {
  const m = /^([^=]*)=(https?:\/\/.*)$/i.exec(value);
  const filterText = m && FILTER_RE.test(m[1]!) ? m[1]! : null;
  const url = filterText === null ? value : m![2]!;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--forward-to: "${value}" is not a URL, or FILTER=URL such as 'oura:sleep.*=http://localhost:3000/hook'.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--forward-to: "${url}" is not an http(s) URL.`);
  return { kind: 'forward', url, filterText, filter: filterText === null ? () => true : filterOf(filterText, '--forward-to') };
}

/** `oura:sleep.*=./on-sleep.sh --verbose` or `*=python3 hook.py`; a shell only when the command names one (`*=sh -c '...'`). */
export function parseHookTarget(value: string): HookTarget {
  const eq = value.indexOf('=');
  const filterText = eq > 0 ? value.slice(0, eq) : '';
  if (!FILTER_RE.test(filterText)) {
    throw new UsageError(`--exec takes FILTER=COMMAND, e.g. 'oura:sleep.*=./on-sleep.sh' or '*=python3 hook.py' ('*' for every event).`);
  }
  const command = value.slice(eq + 1).trim();
  let argv: string[];
  try {
    argv = split(command);
  } catch (err) {
    throw new UsageError(`--exec: the command ${JSON.stringify(command)} cannot be split into words: ${(err as Error).message}.`);
  }
  if (argv.length === 0) throw new UsageError(`--exec: "${value}" names no command after the "=".`);
  return { kind: 'hook', command, argv, filterText: filterText === '*' ? null : filterText, filter: filterText === '*' ? () => true : filterOf(filterText, '--exec') };
}

/**
 * What the outbox calls a target: its command line, or its URL with any credentials redacted
 * (a password never enters the database; the running `listen` knows the whole URL).
 */
export function targetKey(spec: OutboxTargetSpec): string {
  return spec.kind === 'forward' ? redactUrl(spec.url) : spec.command;
}

/** Whether a stored target key had credentials (they were redacted: sending to it needs the whole URL again). */
export function keyHidesCredentials(key: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(key);
}
