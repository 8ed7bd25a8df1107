import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from './db.js';
import { RuntimeError, UsageError } from '../errors.js';
import { storeLocation, type StoreLocation } from './location.js';
import { openStore } from './open.js';
import { all, dialect, get, run, type Op } from './sql.js';
import type { Store } from './store.js';

/**
 * `wearhook db copy`: every table of one store into another that is empty (a SQLite file into
 * PostgreSQL, or back), ids and versions kept, in one transaction on the target, each table's
 * rows counted on both sides before it commits. Both stores are at this wearhook's schema
 * (opening them upgraded them), so the tables, columns and keys are read from that schema.
 */

export interface TableShape {
  name: string;
  columns: string[];
  /** The primary key's columns, in order: rows are copied in that order. */
  key: string[];
  /** The integer id column that the database numbers (SQLite's INTEGER PRIMARY KEY; an identity column in PostgreSQL). */
  identity: string | null;
}

/** The tables of this wearhook's schema, each after the tables it references. */
export function schemaTables(): TableShape[] {
  const db = openDatabase(':memory:');
  try {
    const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    const shapes = new Map<string, TableShape & { references: string[] }>();
    for (const name of names) {
      const info = db.prepare('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid').all(name) as { name: string; type: string; pk: number }[];
      const key = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
      const references = (db.prepare('SELECT DISTINCT "table" AS t FROM pragma_foreign_key_list(?)').all(name) as { t: string }[]).map((r) => r.t);
      shapes.set(name, {
        name,
        columns: info.map((c) => c.name),
        key: key.map((c) => c.name),
        identity: key.length === 1 && key[0]!.type.toUpperCase() === 'INTEGER' ? key[0]!.name : null,
        references,
      });
    }
    const ordered: TableShape[] = [];
    const placed = new Set<string>();
    const place = (name: string) => {
      if (placed.has(name)) return;
      placed.add(name);
      const shape = shapes.get(name)!;
      for (const ref of shape.references) if (ref !== name) place(ref);
      ordered.push({ name: shape.name, columns: shape.columns, key: shape.key, identity: shape.identity });
    };
    for (const name of names) place(name);
    return ordered;
  } finally {
    db.close();
  }
}

function* countRows(table: string): Op<number> {
  return (yield* get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!.n;
}

function* countAll(tables: readonly TableShape[]): Op<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t.name] = yield* countRows(t.name);
  return counts;
}

function* insertRows(table: TableShape, rows: readonly Record<string, unknown>[]): Op<void> {
  const placeholders = `(${table.columns.map(() => '?').join(', ')})`;
  const values: unknown[] = [];
  for (const row of rows) for (const column of table.columns) values.push(row[column] ?? null);
  yield* run(`INSERT INTO ${table.name} (${table.columns.join(', ')}) VALUES ${rows.map(() => placeholders).join(', ')}`, values);
}

/** PostgreSQL numbers new rows from its sequence: after ids were copied in, it must go on after the highest. */
function* continueNumbering(table: TableShape): Op<void> {
  if (!table.identity || (yield* dialect()) !== 'postgres') return;
  yield* all(
    `SELECT setval(pg_get_serial_sequence('${table.name}', '${table.identity}'), COALESCE(MAX(${table.identity}), 0) + 1, false) FROM ${table.name}`,
  );
}

export interface CopyResult {
  schema: number;
  /** Rows copied per table, in the order they were copied. */
  tables: Record<string, number>;
}

export async function copyStore(from: Store, to: Store, options: { onTable?: (table: string, rows: number) => void } = {}): Promise<CopyResult> {
  const schema = await from.schemaVersion();
  const targetSchema = await to.schemaVersion();
  if (schema !== targetSchema) throw new RuntimeError(`${from.shown} is at schema ${schema} but ${to.shown} at ${targetSchema}; both must be at this wearhook's.`);
  const tables = schemaTables();
  const held = Object.entries(await to.read(countAll, tables)).filter(([, n]) => n > 0);
  if (held.length > 0) {
    const what = held.map(([table, n]) => `${n} ${table}`).join(', ');
    throw new RuntimeError(`${to.shown} already holds data (${what}); copy into a new, empty database.`);
  }
  const expected = await from.read(countAll, tables);
  const copied: Record<string, number> = {};
  await to.transaction(async (tx) => {
    for (const table of tables) {
      // Parameters per statement stay well under both databases' limits.
      const perStatement = Math.max(1, Math.min(500, Math.floor(30_000 / table.columns.length)));
      let rows = 0;
      const order = table.key.length > 0 ? table.key.join(', ') : table.columns.join(', ');
      for await (const batch of from.stream<Record<string, unknown>>(`SELECT ${table.columns.join(', ')} FROM ${table.name} ORDER BY ${order}`, [], perStatement)) {
        try {
          await tx.run(insertRows, table, batch);
        } catch (err) {
          throw new RuntimeError(`Copying ${table.name} into ${to.shown} failed: ${(err as Error).message}`, { cause: err });
        }
        rows += batch.length;
      }
      await tx.run(continueNumbering, table);
      const stored = await tx.run(countRows, table.name);
      if (rows !== expected[table.name] || stored !== rows) {
        throw new RuntimeError(
          `${table.name}: ${expected[table.name]} rows in ${from.shown}, ${rows} read, ${stored} stored; nothing was copied. Stop every wearhook writing to ${from.shown} (listen, sync) and copy again.`,
        );
      }
      copied[table.name] = rows;
      options.onTable?.(table.name, rows);
    }
  });
  return { schema, tables: copied };
}

export interface CopyDatabaseResult extends CopyResult {
  from: string;
  to: string;
}

/**
 * Copy the database `fromValue` names (a file or a postgres:// URL) into the one `toValue`
 * names, created if it is a new file. A failed copy leaves the target as it was (a file it
 * created is removed).
 */
export async function copyDatabase(fromValue: string, toValue: string, options: { onTable?: (table: string, rows: number) => void } = {}): Promise<CopyDatabaseResult> {
  const from = storeLocation(fromValue);
  const to = storeLocation(toValue);
  if (sameLocation(from, to)) throw new UsageError(`--from and --to name the same database (${from.shown}); give two different ones.`);
  if (from.kind === 'sqlite' && !fs.existsSync(from.file)) {
    throw new UsageError(`There is no database ${from.file} to copy from; give the wearhook database file with --from.`);
  }
  if (to.kind === 'sqlite' && !fs.existsSync(path.dirname(path.resolve(to.file)))) {
    throw new UsageError(`The folder of ${to.file} (--to) does not exist; create it or give another path.`);
  }
  const created = to.kind === 'sqlite' && !fs.existsSync(to.file) ? to.file : null;
  let source: Store | undefined;
  let target: Store | undefined;
  try {
    source = await openStore(from);
    target = await openStore(to);
    const result = await copyStore(source, target, options);
    return { from: from.shown, to: to.shown, ...result };
  } catch (err) {
    await target?.close();
    target = undefined;
    if (created) for (const suffix of ['', '-wal', '-shm']) fs.rmSync(created + suffix, { force: true });
    throw err;
  } finally {
    await source?.close();
    await target?.close();
  }
}

function sameLocation(a: StoreLocation, b: StoreLocation): boolean {
  if (a.kind === 'sqlite' && b.kind === 'sqlite') return path.resolve(a.file) === path.resolve(b.file);
  return a.kind === 'postgres' && b.kind === 'postgres' && a.url === b.url;
}
