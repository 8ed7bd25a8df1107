/**
 * Store operations written once for SQLite and PostgreSQL.
 *
 * An operation is a generator that yields the statements it needs and receives their results:
 *
 *   function* markSeen(id: number): Op<boolean> {
 *     const row = yield* get<{ seen: number }>('SELECT seen FROM things WHERE id = ?', [id]);
 *     if (!row) return false;
 *     return (yield* run('UPDATE things SET seen = 1 WHERE id = ?', [id])).changes > 0;
 *   }
 *
 * The SQLite runner (sqlite-run.ts) answers each statement synchronously with better-sqlite3,
 * inside one transaction, so an operation costs what the plain calls cost and the receiver's
 * group commit stays synchronous. The PostgreSQL runner (postgres/run.ts) answers it over a
 * connection inside BEGIN ... COMMIT. The logic and, wherever the dialects agree, the SQL are
 * written once; `Sql` may give a text per dialect where they do not.
 *
 * Parameters are positional (`?`) or named (`@name`), as better-sqlite3 takes them; the
 * PostgreSQL runner rewrites both to `$n`.
 */

export type Dialect = 'sqlite' | 'postgres';

/** SQL text, the same for both dialects, or one text per dialect. */
export type Sql = string | { readonly sqlite: string; readonly postgres: string };

export type Params = readonly unknown[] | Readonly<Record<string, unknown>>;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** One request of an operation to its runner. */
export type Step =
  | { readonly kind: 'get' | 'all' | 'run'; readonly sql: Sql; readonly params: Params }
  | { readonly kind: 'dialect' }
  /** Serialise the rest of this transaction with any other holding the same key (PostgreSQL; SQLite's writer lock already does). */
  | { readonly kind: 'lock'; readonly key: string; readonly shared?: boolean };

/** A store operation: run it with a runner (a Store, runSqlite), or compose it into another with `yield*`. */
export type Op<T> = Generator<Step, T, unknown>;

/** Something that makes an operation afresh (a runner may run it again after a deadlock). */
export type OpFunction<A extends unknown[], T> = (...args: A) => Op<T>;

/** The first row, if any. */
export function* get<Row>(sql: Sql, params: Params = []): Op<Row | undefined> {
  return (yield { kind: 'get', sql, params }) as Row | undefined;
}

/** Every row. */
export function* all<Row>(sql: Sql, params: Params = []): Op<Row[]> {
  return (yield { kind: 'all', sql, params }) as Row[];
}

/** A statement that returns no rows. */
export function* run(sql: Sql, params: Params = []): Op<RunResult> {
  return (yield { kind: 'run', sql, params }) as RunResult;
}

/** Which database the operation runs on (for the few steps whose logic differs, not only their SQL). */
export function* dialect(): Op<Dialect> {
  return (yield { kind: 'dialect' }) as Dialect;
}

/**
 * Hold `key` until this transaction ends: operations that read a row and then decide what to
 * write (a document's current version) take it first, so that two processes on PostgreSQL do
 * not both decide from the same reading. On SQLite a writing transaction already excludes every other.
 * `shared` holders do not exclude each other, only a holder of the plain (exclusive) lock.
 */
export function* lock(key: string, options: { shared?: boolean } = {}): Op<void> {
  yield { kind: 'lock', key, ...(options.shared ? { shared: true } : {}) };
}

/**
 * A statement built from text and fragments that may differ per dialect:
 *   sql`SELECT id FROM t WHERE ${inJsonList('id', '?', 'bigint')}`
 * Interpolated strings and numbers are pasted as SQL text (never values: those are parameters).
 */
export function sql(strings: TemplateStringsArray, ...parts: readonly (Sql | number)[]): Sql {
  const build = (d: Dialect) => strings.reduce((text, s, i) => text + s + (i < parts.length ? textOf(parts[i]!, d) : ''), '');
  if (parts.every((p) => typeof p !== 'object')) return build('sqlite');
  return { sqlite: build('sqlite'), postgres: build('postgres') };
}

function textOf(part: Sql | number, d: Dialect): string {
  return typeof part === 'number' ? String(part) : sqlFor(part, d);
}

/** The text of `sql` for `d`. */
export function sqlFor(sql: Sql, d: Dialect): string {
  return typeof sql === 'string' ? sql : sql[d];
}

/**
 * `column IN (<the values of a JSON array given as one parameter>)`: one statement text
 * whatever the list's length (SQLite json_each, PostgreSQL json_array_elements_text).
 * `cast` is the PostgreSQL type of the column (the elements come out as text).
 */
export function inJsonList(column: string, param: string, cast: 'text' | 'bigint' = 'text'): Sql {
  return {
    sqlite: `${column} IN (SELECT value FROM json_each(${param}))`,
    postgres: `${column} IN (SELECT value::${cast} FROM json_array_elements_text(CAST(${param} AS json)) AS value)`,
  };
}

/** Epoch milliseconds of an ISO 8601 text column (fractions kept); NULL when it is NULL. */
export function epochMsOf(column: string): Sql {
  return {
    sqlite: `(unixepoch(${column}, 'subsec') * 1000)`,
    postgres: `(EXTRACT(EPOCH FROM CAST(${column} AS timestamptz)) * 1000)`,
  };
}

/** Errors that say a unique key is already taken, in either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
