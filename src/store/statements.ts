import type Database from 'better-sqlite3';

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * A statement compiled once per connection, for the hot paths that run per delivery or per
 * document (compiling costs more than running them). Only for run/get/all: an `iterate()` in
 * progress or a raw/pluck mode would leak into the next caller of the same statement.
 */
export function cachedStatement(db: Database.Database, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = db.prepare(sql)));
  return statement;
}
