import type { DB } from './db.js';
import { cachedStatement } from './statements.js';
import { sqlFor, type Op, type OpFunction, type Params, type Sql, type Step } from './sql.js';

/**
 * The SQLite runner of store operations (sql.ts): each step is answered synchronously by
 * better-sqlite3 with a statement compiled once per connection, so an operation costs what the
 * plain calls cost. An error is thrown into the operation, which may catch it.
 */
export function runSqlite<T>(db: DB, op: Op<T>): T {
  let next = op.next();
  while (!next.done) {
    let result: unknown;
    try {
      result = answer(db, next.value);
    } catch (err) {
      next = op.throw(err);
      continue;
    }
    next = op.next(result);
  }
  return next.value;
}

/**
 * Run an operation as one transaction (IMMEDIATE: it waits for the write lock rather than
 * failing when another process writes meanwhile), or within the transaction already open.
 */
export function transactSqlite<A extends unknown[], T>(db: DB, fn: OpFunction<A, T>, ...args: A): T {
  if (db.inTransaction) return runSqlite(db, fn(...args));
  return db.transaction(() => runSqlite(db, fn(...args))).immediate();
}

function answer(db: DB, step: Step): unknown {
  switch (step.kind) {
    case 'dialect':
      return 'sqlite';
    case 'lock':
      return undefined;
    case 'get':
      return statement(db, step.sql, step.params, (s, p) => s.get(...p));
    case 'all':
      return statement(db, step.sql, step.params, (s, p) => s.all(...p));
    case 'run':
      return { changes: statement(db, step.sql, step.params, (s, p) => s.run(...p)).changes };
  }
}

type Statement = ReturnType<typeof cachedStatement>;

function statement<R>(db: DB, sql: Sql, params: Params, call: (s: Statement, p: unknown[]) => R): R {
  const prepared = cachedStatement(db, sqlFor(sql, 'sqlite'));
  return call(prepared, Array.isArray(params) ? params : [params]);
}
