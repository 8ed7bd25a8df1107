import { createHash } from 'node:crypto';
import type pg from 'pg';
import { sqlFor, type Op, type OpFunction, type Params, type Sql, type Step } from '../sql.js';

/**
 * The PostgreSQL runner of store operations (sql.ts): each step is sent over one connection
 * as a named prepared statement (parsed once per connection), its `?` and `@name` parameters
 * rewritten to `$n`. An error is thrown into the operation; PostgreSQL then refuses every
 * further statement of the transaction, so an operation must not go on after catching one.
 */
export async function runPostgres<T>(client: pg.ClientBase, op: Op<T>): Promise<T> {
  let next = op.next();
  while (!next.done) {
    let result: unknown;
    try {
      result = await answer(client, next.value);
    } catch (err) {
      next = op.throw(err);
      continue;
    }
    next = op.next(result);
  }
  return next.value;
}

/** Deadlocks and serialisation failures: the transaction is undone and may simply be run again. */
export function isRetryableConflict(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '40P01' || code === '40001';
}

/**
 * Run an operation as one transaction on a connection of `pool`; one that loses a deadlock
 * (two receivers locking the same rows in another order) is run again, up to a few times.
 */
export async function transactPostgres<A extends unknown[], T>(pool: pg.Pool, fn: OpFunction<A, T>, args: A): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await runPostgres(client, fn(...args));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
      if (attempt < 5 && isRetryableConflict(err)) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
        continue;
      }
      throw err;
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }
}

async function answer(client: pg.ClientBase, step: Step): Promise<unknown> {
  switch (step.kind) {
    case 'dialect':
      return 'postgres';
    case 'lock':
      await client.query(prepared(step.shared ? SHARED_LOCK_SQL : LOCK_SQL, [step.key]));
      return undefined;
    case 'get':
      return (await client.query(prepared(step.sql, step.params))).rows[0];
    case 'all':
      return (await client.query(prepared(step.sql, step.params))).rows;
    case 'run':
      return { changes: (await client.query(prepared(step.sql, step.params))).rowCount ?? 0 };
  }
}

const LOCK_SQL = 'SELECT pg_advisory_xact_lock(hashtextextended(?, 0))';
const SHARED_LOCK_SQL = 'SELECT pg_advisory_xact_lock_shared(hashtextextended(?, 0))';

interface Translated {
  name: string;
  text: string;
  /** The parameter names in `$n` order, for named parameters; null for positional ones. */
  names: string[] | null;
}

const translations = new Map<string, Translated>();

/** A query config for node-postgres: the statement in PostgreSQL's placeholders, and its values in their order. */
export function prepared(sql: Sql, params: Params): pg.QueryConfig {
  const source = sqlFor(sql, 'postgres');
  let t = translations.get(source);
  if (!t) {
    t = translatePlaceholders(source);
    if (translations.size > 2000) translations.clear();
    translations.set(source, t);
  }
  const values = Array.isArray(params)
    ? params.map(toPostgresValue)
    : t.names!.map((name) => toPostgresValue((params as Record<string, unknown>)[name]));
  return { name: t.name, text: t.text, values };
}

function toPostgresValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * `?` and `@name` placeholders as `$1`, `$2`, ... (one number per name), outside string
 * literals, quoted identifiers and comments. A statement uses one style or the other.
 */
export function translatePlaceholders(source: string): Translated {
  let text = '';
  let positional = 0;
  const names: string[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === "'" || c === '"') {
      const end = closing(source, i, c);
      text += source.slice(i, end);
      i = end;
    } else if (c === '-' && source[i + 1] === '-') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      text += source.slice(i, stop);
      i = stop;
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      text += source.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      text += `$${++positional}`;
      i++;
    } else if (c === '@' && /[A-Za-z_]/.test(source[i + 1] ?? '')) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i + 1))!;
      const name = match[0];
      let index = names.indexOf(name);
      if (index === -1) index = names.push(name) - 1;
      text += `$${index + 1}`;
      i += 1 + name.length;
    } else {
      text += c;
      i++;
    }
  }
  if (positional > 0 && names.length > 0) throw new Error(`A statement mixes ? and @name parameters: ${source}`);
  const name = `wh_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
  return { name, text, names: names.length > 0 ? names : positional > 0 ? null : [] };
}

/** The index just past the literal or identifier that starts at `start` (a doubled quote stays inside). */
function closing(source: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < source.length) {
    if (source[i] === quote) {
      if (source[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return source.length;
}
