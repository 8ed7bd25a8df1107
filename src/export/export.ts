import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { DB } from '../store/db.js';
import { SqliteStore, type Store } from '../store/store.js';
import { participantAccountsOp } from '../store/export.js';
import { RuntimeError, UsageError, errorMessage } from '../errors.js';
import { exportRowBatches, type ExportFilter } from './query.js';
import { createRowWriter } from './writers.js';
import { TABLES, type ColumnDef } from './registry/index.js';
import type { ExportFormat, ExportType } from './names.js';
import type { RowFields } from './tables.js';
import { deidentifier, type Deidentification } from './deidentify.js';
import { buildCodebook } from './codebook.js';

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
  /** `--pseudonymize` (and `--shift-dates`): the de-identified copy for sharing. */
  deidentification?: Deidentification;
  stdout?: Writable;
  /** Told of progress: after each batch of rows and at the end of each table. */
  onProgress?: (progress: ExportProgress) => void;
}

export interface ExportProgress {
  table: ExportType;
  tablesDone: number;
  tables: number;
  /** Rows written so far, over every table. */
  rows: number;
}

export interface ExportResult {
  /** One entry per table written: its file (null for stdout) and its row count. */
  tables: { type: ExportType; file: string | null; rows: number }[];
  /** The codebook written beside the tables (with --out DIR), else null. */
  codebook: string | null;
}

type Target = { type: ExportType; file: string | null };

/** Export files hold health data: readable by their owner only. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Write each requested table (and, into a directory, the codebook `datapackage.json`). Every
 * file is written under a temporary name beside its final place and published only when all
 * are complete; a file that existed before is kept aside until then, so a failure leaves
 * every earlier file exactly as it was.
 */
export async function runExport(storeOrDb: Store | DB, options: ExportOptions): Promise<ExportResult> {
  if (options.from > options.to) {
    throw new UsageError(`--from ${options.from} is after --to ${options.to}; give the earlier day first.`);
  }
  const store = 'dialect' in storeOrDb ? storeOrDb : new SqliteStore(storeOrDb, storeOrDb.name);
  const filter: ExportFilter = { from: options.from, to: options.to, users: await resolveUsers(store, options) };
  const { targets, dir, createdDir } = resolveTargets(options);
  const temps: { temp: string; final: string }[] = [];
  const result: ExportResult = { tables: [], codebook: null };
  const written: Partial<Record<ExportType, { path: string; rows: number; bytes: number }>> = {};
  const columnsWritten: Partial<Record<ExportType, readonly ColumnDef[]>> = {};
  const progress = { rows: 0, tablesDone: 0 };
  try {
    for (const target of targets) {
      const table = TABLES[target.type];
      const shape = options.deidentification ? deidentifier(table, options.deidentification) : null;
      const columns = shape?.columns ?? table.columns;
      columnsWritten[target.type] = columns;
      const write = async (out: Writable) =>
        writeTable(store, target.type, filter, options.format, out, columns, shape ? (row) => shape.row(row) : null, (rows) => {
          options.onProgress?.({ table: target.type, tablesDone: progress.tablesDone, tables: targets.length, rows: progress.rows + rows });
        });
      let rows: number;
      if (target.file === null) {
        rows = await write(options.stdout ?? process.stdout);
      } else {
        const temp = tempName(target.file);
        temps.push({ temp, final: target.file });
        const stream = openFile(temp, target.file);
        rows = await write(stream);
        stream.end();
        await finished(stream);
        written[target.type] = { path: path.basename(target.file), rows, bytes: fs.statSync(temp).size };
      }
      result.tables.push({ type: target.type, file: target.file, rows });
      progress.rows += rows;
      progress.tablesDone++;
      options.onProgress?.({ table: target.type, tablesDone: progress.tablesDone, tables: targets.length, rows: progress.rows });
    }
    if (dir !== null) {
      const file = path.join(dir, 'datapackage.json');
      const codebook = buildCodebook({
        types: options.types,
        format: options.format,
        from: options.from,
        to: options.to,
        user: options.user,
        participants: options.participants,
        deidentification: options.deidentification,
        written,
        columns: columnsWritten,
      });
      const temp = tempName(file);
      temps.push({ temp, final: file });
      writeWholeFile(temp, file, `${JSON.stringify(codebook, null, 2)}\n`);
      result.codebook = file;
    }
    publish(temps);
    return result;
  } catch (err) {
    for (const { temp } of temps) fs.rmSync(temp, { force: true });
    if (createdDir) removeCreatedDirs(path.resolve(options.out!), path.resolve(createdDir));
    if (err instanceof UsageError || err instanceof RuntimeError) throw err;
    throw new RuntimeError(`Export failed: ${errorMessage(err)}`, { cause: err });
  }
}

/** Rows between two progress reports. */
const PROGRESS_EVERY = 50_000;

async function writeTable(
  store: Store,
  type: ExportType,
  filter: ExportFilter,
  format: ExportFormat,
  out: Writable,
  columns: readonly ColumnDef[],
  transform: ((row: RowFields) => RowFields) | null,
  onRows: (rows: number) => void,
): Promise<number> {
  const writer = await createRowWriter(format, out, columns);
  let count = 0;
  let reported = 0;
  for await (const rows of exportRowBatches(store, type, filter)) {
    for (const row of rows) {
      const drained = writer.write(transform ? transform(row) : row);
      if (drained) await drained;
    }
    count += rows.length;
    if (count - reported >= PROGRESS_EVERY) {
      reported = count;
      onRows(count);
    }
  }
  await writer.finish();
  return count;
}

function tempName(final: string): string {
  return `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Publish every temporary file under its final name, or none: an existing file is first kept
 * aside (a hard link, the same inode, so it is restored exactly), then replaced by a rename.
 * When a rename fails, the files already published are put back as they were.
 */
function publish(temps: readonly { temp: string; final: string }[]): void {
  const done: { final: string; kept: string | null }[] = [];
  try {
    for (const { temp, final } of temps) {
      const kept = keepAside(final);
      done.push({ final, kept });
      fs.renameSync(temp, final);
    }
  } catch (err) {
    const failed = done.at(-1)?.final;
    for (const { final, kept } of done.reverse()) {
      try {
        if (kept) fs.renameSync(kept, final);
        else fs.rmSync(final, { force: true });
      } catch {
        // Nothing more can be done here; the kept copy stays beside it under its .kept name.
      }
    }
    throw new RuntimeError(`Cannot write ${failed}: ${describeFsError(err)}.`);
  }
  for (const { kept } of done) if (kept) fs.rmSync(kept, { force: true });
}

/** A second name for an existing file (null when there is none), so that it can be put back. */
function keepAside(final: string): string | null {
  if (!fs.existsSync(final)) return null;
  const kept = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.kept`;
  try {
    fs.linkSync(final, kept);
  } catch {
    // A file system without hard links: copy it, keeping its mode and times.
    fs.copyFileSync(final, kept, fs.constants.COPYFILE_EXCL);
    const stat = fs.statSync(final);
    fs.chmodSync(kept, stat.mode);
    fs.utimesSync(kept, stat.atime, stat.mtime);
  }
  return kept;
}

function openFile(temp: string, final: string): fs.WriteStream {
  let fd: number;
  try {
    fd = fs.openSync(temp, 'wx', FILE_MODE);
  } catch (err) {
    throw new RuntimeError(`Cannot write ${final}: ${describeFsError(err)}.`);
  }
  return fs.createWriteStream('', { fd, highWaterMark: 1 << 16 });
}

function writeWholeFile(temp: string, final: string, text: string): void {
  try {
    fs.writeFileSync(temp, text, { flag: 'wx', mode: FILE_MODE });
  } catch (err) {
    throw new RuntimeError(`Cannot write ${final}: ${describeFsError(err)}.`);
  }
}

/** The directories this export created, from the deepest up to the first, while they are empty. */
function removeCreatedDirs(deepest: string, first: string): void {
  for (let dir = deepest; dir.startsWith(first); dir = path.dirname(dir)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      return; // not empty (someone else wrote there meanwhile) or gone: leave it
    }
    if (dir === first) return;
  }
}

async function resolveUsers(store: Store, options: ExportOptions): Promise<ExportFilter['users']> {
  if (options.user && options.participants) throw new UsageError('Give either --user or --participant, not both.');
  if (options.user) return [{ userId: options.user }];
  if (options.participants) {
    const { unknown, accounts } = await store.read(participantAccountsOp, options.participants);
    if (unknown.length > 0) {
      throw new UsageError(`No participant ${unknown.map((l) => `"${l}"`).join(', ')}; see \`wearhook participants list\`.`);
    }
    return accounts.map((a) => ({ provider: a.provider, userId: a.user_id }));
  }
  return undefined;
}

/** Where each table goes; `dir` is set when the tables go into a directory (then the codebook goes there too). */
function resolveTargets(options: ExportOptions): { targets: Target[]; dir: string | null; createdDir: string | null } {
  const ext = options.format;
  const out = options.out;
  const inDir = (dir: string) => options.types.map((type) => ({ type, file: path.join(dir, `${type}.${ext}`) }));
  if (out === undefined || out === '-') {
    if (options.types.length > 1) {
      throw new UsageError(`Several types (${options.types.join(', ')}) need --out DIR, one file per type; or pick one with --type.`);
    }
    if (options.format === 'parquet' && !options.stdout && process.stdout.isTTY) {
      throw new UsageError('Parquet is binary: give --out FILE or DIR, or redirect stdout to a file.');
    }
    return { targets: [{ type: options.types[0]!, file: null }], dir: null, createdDir: null };
  }
  const stat = statOrNull(out);
  if (stat?.isDirectory()) return { targets: inDir(out), dir: out, createdDir: null };
  if (options.types.length === 1 && !out.endsWith(path.sep) && !out.endsWith('/')) {
    const parent = statOrNull(path.dirname(path.resolve(out)));
    if (!parent?.isDirectory()) throw new RuntimeError(`Cannot write ${out}: the folder ${path.dirname(path.resolve(out))} does not exist.`);
    return { targets: [{ type: options.types[0]!, file: out }], dir: null, createdDir: null };
  }
  if (stat) throw new UsageError(`--out ${out} is a file; several types need a directory.`);
  let first: string | undefined;
  try {
    first = fs.mkdirSync(out, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    throw new RuntimeError(`Cannot create the directory ${out}: ${describeFsError(err)}.`);
  }
  return { targets: inDir(out), dir: out, createdDir: first ?? null };
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
