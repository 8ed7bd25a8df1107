import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { DB } from '../store/db.js';
import { RuntimeError, UsageError, errorMessage } from '../errors.js';
import { accountsOf, getParticipant } from '../store/participants.js';
import { exportRowBatches, type ExportFilter } from './query.js';
import { createRowWriter } from './writers.js';
import { columnsOf, type ExportFormat, type ExportType } from './tables.js';

export interface ExportOptions {
  from: string;
  to: string;
  types: ExportType[];
  format: ExportFormat;
  /** A file, a directory, or '-'/undefined for stdout (one type only). */
  out?: string;
  user?: string;
  /** Participants' labels: the rows of every account linked to them. */
  participants?: string[];
  stdout?: Writable;
}

export interface ExportResult {
  /** One entry per table written: its file (null for stdout) and its row count. */
  tables: { type: ExportType; file: string | null; rows: number }[];
}

type Target = { type: ExportType; file: string | null };

/**
 * Write each requested table. Files are written under a temporary name beside their final
 * place and renamed only when every table is complete, so a failure leaves nothing half-written.
 */
export async function runExport(db: DB, options: ExportOptions): Promise<ExportResult> {
  if (options.from > options.to) {
    throw new UsageError(`--from ${options.from} is after --to ${options.to}; give the earlier day first.`);
  }
  const filter: ExportFilter = { from: options.from, to: options.to, users: resolveUsers(db, options) };
  const { targets, createdDir } = resolveTargets(options);
  const temps: { temp: string; final: string }[] = [];
  const result: ExportResult = { tables: [] };
  try {
    for (const target of targets) {
      if (target.file === null) {
        const rows = await writeTable(db, target.type, filter, options.format, options.stdout ?? process.stdout);
        result.tables.push({ type: target.type, file: null, rows });
        continue;
      }
      const temp = `${target.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      temps.push({ temp, final: target.file });
      const stream = openFile(temp, target.file);
      const rows = await writeTable(db, target.type, filter, options.format, stream);
      stream.end();
      await finished(stream);
      result.tables.push({ type: target.type, file: target.file, rows });
    }
    // All tables are complete: publish them together, or none of them.
    const published: string[] = [];
    try {
      for (const { temp, final } of temps) {
        fs.renameSync(temp, final);
        published.push(final);
      }
    } catch (err) {
      for (const file of published) fs.rmSync(file, { force: true });
      throw new RuntimeError(`Cannot write ${temps[published.length]?.final}: ${describeFsError(err)}.`);
    }
    return result;
  } catch (err) {
    for (const { temp } of temps) fs.rmSync(temp, { force: true });
    if (createdDir) fs.rmSync(createdDir, { recursive: true, force: true });
    if (err instanceof UsageError || err instanceof RuntimeError) throw err;
    throw new RuntimeError(`Export failed: ${errorMessage(err)}`, { cause: err });
  }
}

async function writeTable(db: DB, type: ExportType, filter: ExportFilter, format: ExportFormat, out: Writable): Promise<number> {
  const writer = createRowWriter(format, out, columnsOf(type));
  let count = 0;
  for (const rows of exportRowBatches(db, type, filter)) {
    for (const row of rows) {
      const drained = writer.write(row);
      if (drained) await drained;
    }
    count += rows.length;
  }
  await writer.finish();
  return count;
}

function openFile(temp: string, final: string): fs.WriteStream {
  let fd: number;
  try {
    fd = fs.openSync(temp, 'wx', 0o644);
  } catch (err) {
    throw new RuntimeError(`Cannot write ${final}: ${describeFsError(err)}.`);
  }
  return fs.createWriteStream('', { fd, highWaterMark: 1 << 16 });
}

function resolveUsers(db: DB, options: ExportOptions): ExportFilter['users'] {
  if (options.user && options.participants) throw new UsageError('Give either --user or --participant, not both.');
  if (options.user) return [{ userId: options.user }];
  if (options.participants) {
    const unknown = options.participants.filter((label) => !getParticipant(db, label));
    if (unknown.length > 0) {
      throw new UsageError(`No participant ${unknown.map((l) => `"${l}"`).join(', ')}; see \`wearhook participants list\`.`);
    }
    return accountsOf(db, options.participants).map((a) => ({ provider: a.provider, userId: a.user_id }));
  }
  return undefined;
}

function resolveTargets(options: ExportOptions): { targets: Target[]; createdDir: string | null } {
  const ext = options.format;
  const out = options.out;
  if (out === undefined || out === '-') {
    if (options.types.length > 1) {
      throw new UsageError(`Several types (${options.types.join(', ')}) need --out DIR, one file per type; or pick one with --type.`);
    }
    return { targets: [{ type: options.types[0]!, file: null }], createdDir: null };
  }
  const stat = statOrNull(out);
  if (stat?.isDirectory()) {
    return { targets: options.types.map((type) => ({ type, file: path.join(out, `${type}.${ext}`) })), createdDir: null };
  }
  if (options.types.length === 1) {
    const parent = statOrNull(path.dirname(path.resolve(out)));
    if (!parent?.isDirectory()) throw new RuntimeError(`Cannot write ${out}: the folder ${path.dirname(path.resolve(out))} does not exist.`);
    return { targets: [{ type: options.types[0]!, file: out }], createdDir: null };
  }
  if (stat) throw new UsageError(`--out ${out} is a file; several types need a directory.`);
  try {
    fs.mkdirSync(out, { recursive: true });
  } catch (err) {
    throw new RuntimeError(`Cannot create the directory ${out}: ${describeFsError(err)}.`);
  }
  return { targets: options.types.map((type) => ({ type, file: path.join(out, `${type}.${ext}`) })), createdDir: out };
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

function describeFsError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'no such folder';
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'EROFS') return 'the file system is read-only';
  return errorMessage(err);
}
