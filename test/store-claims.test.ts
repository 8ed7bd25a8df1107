import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClaimLostError,
  claimDueOp,
  finishClaimOp,
  ownerIsGone,
  releaseClaimsOfGoneOwnersOp,
  renewClaimsOp,
  type ClaimDueOptions,
  type WorkTable,
} from '../src/store/claims.js';
import { all, run, type Op } from '../src/store/sql.js';
import type { Store } from '../src/store/store.js';
import { tempDir } from './helpers/cli.js';
import { openTestStore, testDatabase } from './helpers/engine.js';

/**
 * The claim mechanism on its own work table, with two connections to one store as two processes
 * would have: one SQLite file, or one PostgreSQL database (vitest.config.ts BOTH_ENGINES).
 */
const WORK: WorkTable = { table: 'jobs', key: 'id' };
const due = { due: "state = 'todo'", order: 'id', leaseMs: 1_000 };

let dir: string | undefined;
const open: Store[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function* makeJobs(rows: number): Op<void> {
  yield* run({
    sqlite: 'CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT NOT NULL, claim_owner TEXT, claim_until INTEGER)',
    postgres: 'CREATE TABLE jobs (id bigserial PRIMARY KEY, state text NOT NULL, claim_owner text, claim_until bigint)',
  });
  yield* run('CREATE INDEX jobs_by_claim_owner ON jobs(claim_owner) WHERE claim_owner IS NOT NULL');
  for (let i = 0; i < rows; i++) yield* run("INSERT INTO jobs (state) VALUES ('todo')");
}

async function twoConnections(rows: number): Promise<[Store, Store]> {
  dir = tempDir();
  const location = await testDatabase(dir, undefined, 'claims.db');
  const a = await openTestStore(location);
  open.push(a);
  await a.run(makeJobs, rows);
  const b = await openTestStore(location);
  open.push(b);
  return [a, b];
}

const claimDue = (store: Store, options: ClaimDueOptions) => store.run(claimDueOp<{ id: number }>, WORK, options);
const ids = (rows: { id: unknown }[]) => rows.map((r) => r.id as number);

function* rows<Row>(sql: string): Op<Row[]> {
  return yield* all<Row>(sql);
}

/** A's result, recorded with its claim checked: the check undoes the transaction when the claim is lost. */
function* recordAsA(): Op<void> {
  yield* run("UPDATE jobs SET state = 'done-by-A' WHERE id = 1");
  yield* finishClaimOp(WORK, 'A', 1);
}

describe('work claims', () => {
  it('gives each due row to exactly one owner, oldest first, however the claims interleave', async () => {
    const [a, b] = await twoConnections(50);
    const taken: number[][] = [[], []];
    for (let round = 0; round < 10; round++) {
      taken[0]!.push(...ids(await claimDue(a, { ...due, owner: 'host/1/a', limit: 3 })));
      taken[1]!.push(...ids(await claimDue(b, { ...due, owner: 'host/2/b', limit: 4 })));
    }
    expect(taken[0]!.slice(0, 3)).toEqual([1, 2, 3]);
    expect(taken[1]!.slice(0, 4)).toEqual([4, 5, 6, 7]);
    const all = [...taken[0]!, ...taken[1]!].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await claimDue(a, { ...due, owner: 'host/1/a', limit: 10 })).toEqual([]);
  });

  it('lets another owner take a claim once it lapses, unless it is renewed; the first owner can then record nothing', async () => {
    const [a, b] = await twoConnections(2);
    const now = 1_000_000;
    expect(ids(await claimDue(a, { ...due, owner: 'A', limit: 2, now }))).toEqual([1, 2]);
    await a.run(renewClaimsOp, WORK, 'A', 1_000, now + 900); // row 1 and 2 now held until now + 1900
    expect(await claimDue(b, { ...due, owner: 'B', limit: 2, now: now + 1_500 })).toEqual([]);
    expect(ids(await claimDue(b, { ...due, owner: 'B', limit: 2, now: now + 1_900 }))).toEqual([1, 2]);

    // A's late result is fenced off: the claim check undoes the transaction that would record it.
    await expect(a.run(recordAsA)).rejects.toThrow(ClaimLostError);
    expect(await a.read(rows, 'SELECT state FROM jobs WHERE id = 1')).toEqual([{ state: 'todo' }]);
    await b.run(finishClaimOp, WORK, 'B', 1);
    expect(await a.read(rows, 'SELECT claim_owner FROM jobs WHERE id = 1')).toEqual([{ claim_owner: null }]);
  });

  it('frees at once the claims of a process of this machine that has exited, and only those', async () => {
    const [a] = await twoConnections(3);
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const gone = `${os.hostname()}/${exited.stdout}/dead`;
    const alive = `${os.hostname()}/${process.pid}/live`;
    const elsewhere = `another-host/${exited.stdout}/far`;
    expect([ownerIsGone(gone), ownerIsGone(alive), ownerIsGone(elsewhere)]).toEqual([true, false, false]);
    await claimDue(a, { ...due, owner: gone, limit: 1, leaseMs: 60_000 });
    await claimDue(a, { ...due, owner: alive, limit: 1, leaseMs: 60_000 });
    await claimDue(a, { ...due, owner: elsewhere, limit: 1, leaseMs: 60_000 });
    expect(await a.run(releaseClaimsOfGoneOwnersOp, WORK, ownerIsGone)).toBe(1);
    expect(ids(await claimDue(a, { ...due, owner: 'next', limit: 3 }))).toEqual([1]);
  });
});
