import fs from 'node:fs';
import path from 'node:path';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../src/export/export.js';
import { EXPORT_FORMATS, EXPORT_TYPES, type ExportFormat } from '../src/export/names.js';
import { TABLES, type ColumnDef } from '../src/export/registry/index.js';
import { checkStudyKey, type Deidentification } from '../src/export/deidentify.js';
import { buildCodebook, renderCodebook } from '../src/export/codebook.js';
import { runCli, tempDir } from './helpers/cli.js';
import * as study from './fixtures/export-study.js';
import { onPostgres, testDatabaseOf, withTestStore } from './helpers/engine.js';

/**
 * The codebook (datapackage.json, checked against the Frictionless Data Package and Table
 * Schema profiles vendored in test/fixtures/frictionless/) and the de-identified export
 * (--pseudonymize, --shift-dates), on the study database of export-tables.test.ts. Runs on
 * SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */

const KEY = 'study-key-0123456789abcdef-one';
const OTHER_KEY = 'study-key-fedcba9876543210-two';
const RANGE = { from: '2026-03-01', to: '2026-03-31' };
/** Everything that identifies someone in the fixtures: no de-identified file may contain any of it. */
const SECRETS = [study.OURA_USER, study.VITAL_USER, study.OW_USER, study.CORSANO_USER, study.LABEL, study.EMAIL, study.OTHER_EMAIL, 'Anna K', 'Coffee with', 'migraine', 'Ride with'];

let dir: string;
let dbFile: string;

/** Exports already written, by their settings: several tests read the same one (each export of every table costs time). */
const exported = new Map<string, Promise<string>>();

function exportTo(format: ExportFormat, deidentification?: Deidentification): Promise<string> {
  const name = [format, deidentification?.key === KEY ? 'key1' : deidentification ? 'key2' : 'plain', deidentification?.shiftDates ?? ''].join('-');
  let out = exported.get(name);
  if (!out) {
    out = (async () => {
      const file = path.join(dir, name);
      await withTestStore(dbFile, (store) => runExport(store, { ...RANGE, types: [...EXPORT_TYPES], format, out: file, deidentification }));
      return file;
    })();
    exported.set(name, out);
  }
  return out;
}

/** Every row of every table of an export, read back (Parquet with the independent reader). */
function tables(out: string, format: ExportFormat): Record<string, Record<string, unknown>[]> {
  return Object.fromEntries(
    EXPORT_TYPES.map((type) => {
      const file = path.join(out, `${type}.${format}`);
      if (format === 'json') return [type, JSON.parse(fs.readFileSync(file, 'utf8'))];
      if (format === 'parquet') {
        const table = tableFromIPC(readParquet(new Uint8Array(fs.readFileSync(file))).intoIPCStream());
        return [type, table.toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON())];
      }
      throw new Error(`read ${format} elsewhere`);
    }),
  );
}

beforeAll(async () => {
  dir = tempDir();
  study.seedStudy(path.join(dir, 'wearhook.db'));
  dbFile = await testDatabaseOf(path.join(dir, 'wearhook.db'));
});

describe('the codebook: datapackage.json', () => {
  const schema = (name: string) => JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'frictionless', name), 'utf8')) as object;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('textarea', true); // an editor hint of the profiles, not a constraint
  const validatePackage = ajv.compile(schema('datapackage.json'));
  const validateTableSchema = ajv.compile(schema('tableschema.json'));

  function expectValid(codebook: Record<string, unknown>): void {
    expect(validatePackage(codebook) ? [] : validatePackage.errors).toEqual([]);
    for (const resource of codebook.resources as { name: string; schema: object }[]) {
      expect(validateTableSchema(resource.schema) ? [] : validateTableSchema.errors, resource.name).toEqual([]);
    }
  }

  it('validates against the Data Package and Table Schema profiles, and holds every column of every table with its type, unit and provider fields', async () => {
    const out = await exportTo('csv');
    const codebook = JSON.parse(fs.readFileSync(path.join(out, 'datapackage.json'), 'utf8')) as Record<string, unknown>;
    expectValid(codebook);
    const resources = codebook.resources as { name: string; path: string; schema: { fields: Record<string, unknown>[] }; 'wearhook:rows': number }[];
    expect(resources.map((r) => r.name)).toEqual([...EXPORT_TYPES]);
    for (const resource of resources) {
      const table = TABLES[resource.name as keyof typeof TABLES];
      expect(resource.schema.fields.map((f) => f.name), resource.name).toEqual(table.columns.map((c) => c.name));
      expect(fs.existsSync(path.join(out, resource.path))).toBe(true);
    }
    const sleep = resources.find((r) => r.name === 'sleep')!;
    expect(sleep['wearhook:rows']).toBe(1);
    const field = (name: string) => sleep.schema.fields.find((f) => f.name === name)!;
    expect(field('total_sleep_s')).toMatchObject({ type: 'integer', unit: 's', 'wearhook:providerFields': { oura: 'sleep.total_sleep_duration', vital: 'sleep.total' } });
    expect(field('day')).toMatchObject({ type: 'date' });
    expect(field('bedtime_start')).toMatchObject({ type: 'datetime', 'wearhook:type': 'local_datetime', 'wearhook:utc': 'bedtime_start_utc' });
    expect(field('is_main_sleep')).toMatchObject({ type: 'boolean', trueValues: ['true'], falseValues: ['false'] });
    expect(field('sleep_algorithm_version')).toMatchObject({ categories: ['v1', 'v2'] });
    const stages = resources.find((r) => r.name === 'sleep_stages')!;
    expect(stages.schema.fields.find((f) => f.name === 'stage')).toMatchObject({ categories: ['deep', 'light', 'rem', 'awake'] });
    expect(codebook.wearhook).toMatchObject({ format: 'csv', range: { from: RANGE.from, to: RANGE.to }, filters: {} });
    expect((codebook.wearhook as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
  });

  // The codebook alone never opens the store: once.
  it.skipIf(onPostgres)('export --codebook --json prints it without exporting (no --from/--to needed); for people, one line a column', async () => {
    const before = fs.readdirSync(dir).sort();
    const json = await runCli(['--db', dbFile, 'export', '--codebook', '--type', 'all', '--format', 'parquet', '--json'], { env: { WEARHOOK_CONFIG_DIR: dir }, cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    const codebook = JSON.parse(json.stdout) as Record<string, unknown>;
    expectValid(codebook);
    expect((codebook.resources as { name: string; format: string; mediatype: string }[]).map((r) => [r.name, r.format, r.mediatype])).toEqual(
      EXPORT_TYPES.map((t) => [t, 'parquet', 'application/vnd.apache.parquet']),
    );
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    // What `wearhook export --codebook` (without --json) prints, in process.
    const text = renderCodebook(buildCodebook({ types: ['heart_rate'], format: 'csv' }));
    expect(text).toMatch(/^heart_rate: Heart rate/);
    expect(text).toMatch(/ {2}context {2}string {2}.*\(awake, rest, sleep, session, live, workout\)/);
  });
});

describe('--pseudonymize: a copy to share', () => {
  const deid = (key: string, shiftDates: Deidentification['shiftDates'] = 'weekday'): Deidentification => ({ key, shiftDates });

  it('no file written holds a provider user id, a label, an e-mail or free text, in any format', async () => {
    for (const format of EXPORT_FORMATS) {
      const out = await exportTo(format, deid(KEY));
      for (const file of fs.readdirSync(out)) {
        const bytes = fs.readFileSync(path.join(out, file));
        // Parquet pages are compressed: search the decoded values as well as the raw bytes.
        const text = file.endsWith('.parquet')
          ? `${bytes.toString('latin1')}\n${JSON.stringify(tableFromIPC(readParquet(new Uint8Array(bytes)).intoIPCStream()).toArray().map((r: { toJSON(): unknown }) => r.toJSON()), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`
          : bytes.toString('utf8');
        for (const secret of SECRETS) expect(text.includes(secret), `${format}/${file} holds "${secret}"`).toBe(false);
      }
      // Free text columns are dropped, and the codebook says so.
      const codebook = JSON.parse(fs.readFileSync(path.join(out, 'datapackage.json'), 'utf8'));
      const tags = codebook.resources.find((r: { name: string }) => r.name === 'tags');
      expect(tags.schema.fields.map((f: { name: string }) => f.name)).not.toContain('comment');
      expect(codebook.wearhook.deidentification.dropped).toEqual(expect.arrayContaining(['workout_label', 'custom_name', 'comment']));
      expect(codebook.wearhook.range).toBeUndefined();
    }
  });

  it('the same key gives the same pseudonyms in every run; another key gives others', async () => {
    const first = tables(await exportTo('json', deid(KEY)), 'json');
    exported.clear(); // a second run, not the first one's files
    const second = tables(await exportTo('json', deid(KEY)), 'json');
    const other = tables(await exportTo('json', deid(OTHER_KEY)), 'json');
    expect(second).toEqual(first);
    const users = (t: typeof first) => [...new Set(Object.values(t).flatMap((rows) => rows.map((r) => r.user_id)))].sort();
    expect(users(first)).toHaveLength(4);
    for (const user of users(first)) expect(user).toMatch(/^u_[0-9a-f]{16}$/);
    expect(users(other)).toHaveLength(4);
    for (const user of users(other)) expect(users(first)).not.toContain(user);
    expect(first.sleep![0]!.label).toMatch(/^p_[0-9a-f]{16}$/);
    expect(other.sleep![0]!.label).not.toBe(first.sleep![0]!.label);
  });

  for (const mode of ['weekday', 'any'] as const) {
    it(`--shift-dates ${mode}: every date and time of a participant moves by the same whole days in every table${mode === 'weekday' ? ', weekday kept' : ''}; ids still join`, async () => {
      const plain = tables(await exportTo('parquet'), 'parquet');
      const shifted = tables(await exportTo('parquet', deid(KEY, mode)), 'parquet');
      const shifts = new Map<string, Set<number>>();
      const idMap = new Map<string, string>();
      for (const type of EXPORT_TYPES) {
        const defs = TABLES[type].columns as readonly ColumnDef[];
        expect(shifted[type]!.length, type).toBe(plain[type]!.length);
        plain[type]!.forEach((row, i) => {
          const other = shifted[type]![i]!;
          const who = String(other.user_id);
          for (const c of defs) {
            const a = row[c.name];
            const b = other[c.name];
            if (c.privacy === 'free_text') {
              expect(c.name in other).toBe(false);
              continue;
            }
            if (a === null || a === undefined) {
              expect(b ?? null, `${type}.${c.name}`).toBeNull();
              continue;
            }
            if (c.type === 'date' || c.type === 'utc_datetime') {
              const days = (Number(b) - Number(a)) / 86_400_000;
              expect(Number.isInteger(days), `${type}.${c.name}`).toBe(true);
              if (!shifts.has(who)) shifts.set(who, new Set());
              shifts.get(who)!.add(days);
            } else if (c.type === 'local_datetime') {
              // Same time of day and offset, on a date moved by the participant's days.
              expect(String(b).slice(10), `${type}.${c.name}`).toBe(String(a).slice(10));
              const days = (Date.parse(`${String(b).slice(0, 10)}T00:00:00Z`) - Date.parse(`${String(a).slice(0, 10)}T00:00:00Z`)) / 86_400_000;
              shifts.get(who)?.add(days);
            } else if (c.privacy === 'id') {
              // One pseudonym per id, in every table: sleep_id of hrv still finds source_id of sleep.
              const key = `${String(row.provider)}:${String(a)}`;
              if (!idMap.has(key)) idMap.set(key, String(b));
              expect(b, `${type}.${c.name}`).toBe(idMap.get(key));
              expect(String(b)).toMatch(/^d_[0-9a-f]{20}$/);
            } else if (c.privacy !== 'user' && c.privacy !== 'label') {
              expect(b, `${type}.${c.name}`).toEqual(a);
            }
          }
        });
      }
      expect(shifts.size).toBe(4);
      const each = [...shifts.values()].map((days) => [...days]);
      for (const days of each) {
        expect(days).toHaveLength(1);
        expect(days[0]).not.toBe(0);
        expect(Math.abs(days[0]!)).toBeLessThanOrEqual(365);
        if (mode === 'weekday') expect(Math.abs(days[0]! % 7)).toBe(0);
      }
      if (mode === 'any') expect(each.some(([d]) => d! % 7 !== 0)).toBe(true);
    });
  }

  it('the command line: the key comes from WEARHOOK_STUDY_KEY (never argv); without one, exit 2 and nothing written', async () => {
    const out = path.join(dir, 'cli-shared');
    const args = ['--db', dbFile, 'export', '--from', RANGE.from, '--to', RANGE.to, '--type', 'all', '--pseudonymize', '--shift-dates', '--out', out];
    const refused = await runCli(args, { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--pseudonymize needs a study key: set WEARHOOK_STUDY_KEY or `wearhook config set study.key/);
    expect(fs.existsSync(out)).toBe(false);
    expect(() => checkStudyKey('short')).toThrow(/at least 16/); // the same check, in process
    const ok = await runCli(args, { env: { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_STUDY_KEY: KEY } });
    expect(ok.code, ok.stderr).toBe(0);
    // The same pseudonyms as the export core gave with that key.
    const cli = fs.readFileSync(path.join(out, 'sleep.csv'), 'utf8');
    expect(cli).toContain(String(tables(await exportTo('json', deid(KEY)), 'json').sleep![0]!.user_id));
    for (const secret of SECRETS) expect(ok.stderr.includes(KEY) || cli.includes(secret)).toBe(false);
  });
});
