import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../src/store/db.js';
import { ClaimLostError, claimDue, finishClaim, ownerIsGone, releaseClaimsOfGoneOwners, renewClaims, type WorkTable } from '../src/store/claims.js';
import { tempDir } from './helpers/cli.js';

/** The claim mechanism on its own work table, with two connections to one file as two processes would have. */
const WORK: WorkTable = { table: 'jobs', key: 'id' };
const due = { due: "state = 'todo'", order: 'id', leaseMs: 1_000 };

let dir: string | undefined;
const open: DB[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function twoConnections(rows: number): [DB, DB] {
  dir = tempDir();
  const file = path.join(dir, 'claims.db');
  const a = openDatabase(file);
  a.exec(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT NOT NULL, claim_owner TEXT, claim_until INTEGER);
          CREATE INDEX jobs_by_claim_owner ON jobs(claim_owner) WHERE claim_owner IS NOT NULL;`);
  const insert = a.prepare("INSERT INTO jobs (state) VALUES ('todo')");
  for (let i = 0; i < rows; i++) insert.run();
  const b = openDatabase(file);
  open.push(a, b);
  return [a, b];
}

const ids = (rows: { id: unknown }[]) => rows.map((r) => r.id as number);

describe('work claims', () => {
  it('gives each due row to exactly one owner, oldest first, however the claims interleave', () => {
    const [a, b] = twoConnections(50);
    const taken: number[][] = [[], []];
    for (let round = 0; round < 10; round++) {
      taken[0]!.push(...ids(claimDue(a, WORK, { ...due, owner: 'host/1/a', limit: 3 })));
      taken[1]!.push(...ids(claimDue(b, WORK, { ...due, owner: 'host/2/b', limit: 4 })));
    }
    expect(taken[0]!.slice(0, 3)).toEqual([1, 2, 3]);
    expect(taken[1]!.slice(0, 4)).toEqual([4, 5, 6, 7]);
    const all = [...taken[0]!, ...taken[1]!].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(claimDue(a, WORK, { ...due, owner: 'host/1/a', limit: 10 })).toEqual([]);
  });

  it('lets another owner take a claim once it lapses, unless it is renewed; the first owner can then record nothing', () => {
    const [a, b] = twoConnections(2);
    const now = 1_000_000;
    expect(ids(claimDue(a, WORK, { ...due, owner: 'A', limit: 2, now }))).toEqual([1, 2]);
    renewClaims(a, WORK, 'A', 1_000, now + 900); // row 1 and 2 now held until now + 1900
    expect(claimDue(b, WORK, { ...due, owner: 'B', limit: 2, now: now + 1_500 })).toEqual([]);
    expect(ids(claimDue(b, WORK, { ...due, owner: 'B', limit: 2, now: now + 1_900 }))).toEqual([1, 2]);

    // A's late result is fenced off: the claim check undoes the transaction that would record it.
    const record = a.transaction(() => {
      a.prepare("UPDATE jobs SET state = 'done-by-A' WHERE id = 1").run();
      finishClaim(a, WORK, 'A', 1);
    });
    expect(() => record()).toThrow(ClaimLostError);
    expect((a.prepare('SELECT state FROM jobs WHERE id = 1').get() as { state: string }).state).toBe('todo');
    finishClaim(b, WORK, 'B', 1);
    expect(a.prepare('SELECT claim_owner FROM jobs WHERE id = 1').get()).toEqual({ claim_owner: null });
  });

  it('frees at once the claims of a process of this machine that has exited, and only those', () => {
    const [a] = twoConnections(3);
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const gone = `${os.hostname()}/${exited.stdout}/dead`;
    const alive = `${os.hostname()}/${process.pid}/live`;
    const elsewhere = `another-host/${exited.stdout}/far`;
    expect([ownerIsGone(gone), ownerIsGone(alive), ownerIsGone(elsewhere)]).toEqual([true, false, false]);
    claimDue(a, WORK, { ...due, owner: gone, limit: 1, leaseMs: 60_000 });
    claimDue(a, WORK, { ...due, owner: alive, limit: 1, leaseMs: 60_000 });
    claimDue(a, WORK, { ...due, owner: elsewhere, limit: 1, leaseMs: 60_000 });
    expect(releaseClaimsOfGoneOwners(a, WORK)).toBe(1);
    expect(ids(claimDue(a, WORK, { ...due, owner: 'next', limit: 3 }))).toEqual([1]);
  });
});
