import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { tempDir } from '../helpers/cli.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { startOuraFake } from '../helpers/oura-fake.js';
import { seedOuraUser } from '../helpers/oura-user.js';
import { TEST_SECRETS } from '../helpers/signing.js';
import { holdingOuraProxy, integrityCheck, ouraNotification, OURA_USER, post, sleepDocument, storedRows, vitalSleep, waitFor, type Delivery } from './deliveries.js';
import { record } from './report.js';

/**
 * The database cannot be written while the receiver runs: a full disk (a small tmpfs,
 * filled), read-only database files (chattr +i), and a file size limit (RLIMIT_FSIZE, set
 * on the running receiver with prlimit). Every delivery in that time must be answered 5xx,
 * never 2xx, and nothing half-stored; Oura fetches that finish in that time cannot store
 * their documents. Once the database can be written again, without a restart: the senders'
 * retries are accepted, the interrupted fetches are done again, nothing acknowledged is
 * missing, and the file is intact.
 * The first two need root (mount, chattr); the third runs for any user.
 */

const ROUNDS = 4;
const PER_ROUND = 25;

const cleanups: (() => void)[] = [];
let listener: ListenProcess | undefined;
afterEach(async () => {
  await listener?.stop('SIGKILL');
  listener = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function run(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

const isRoot = process.getuid?.() === 0;
const results: Record<string, unknown> = {};
let deliveriesSent = 0;

async function exercise(name: string, dataDir: string, breakIt: (ctx: { dbFile: string; pid: number }) => void, fixIt: (ctx: { dbFile: string; pid: number }) => void) {
  const configDir = tempDir('wearhook-unwritable-config-');
  cleanups.push(() => fs.rmSync(configDir, { recursive: true, force: true }));
  const dbFile = path.join(dataDir, 'wearhook.db');
  const fake = await startOuraFake();
  const proxy = await holdingOuraProxy(fake.url);
  cleanups.push(() => void proxy.close(), () => void fake.close());
  await seedOuraUser(fake, { configDir, dbPath: dbFile, userId: OURA_USER });
  // As many as the receiver fetches at once (4), so that all of them are in flight together.
  const notifications = Array.from({ length: 4 }, (_, i) => ouraNotification(`sleep-${name}-${i}`));
  fake.addDocuments(OURA_USER, 'sleep', notifications.map((n) => sleepDocument(n.key)));
  listener = await startListen({
    ...fake.env(),
    WEARHOOK_OURA_API_URL: proxy.url,
    OURA_CLIENT_SECRET: TEST_SECRETS.oura,
    WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
    WEARHOOK_CONFIG_DIR: configDir,
    WEARHOOK_DB: dbFile,
  });
  const ctx = { dbFile, pid: listener.child.pid! };
  const acknowledged = new Map<string, number>();
  const sendAll = async (deliveries: Delivery[]) => Promise.all(deliveries.map(async (d) => ({ d, outcome: await post(listener!.url, d) })));

  // Before: accepted and normalised.
  for (const { d, outcome } of await sendAll(Array.from({ length: 10 }, (_, i) => vitalSleep(`msg_${name}_before_${i}`, 2_000)))) {
    expect(outcome.status).toBe(200);
    acknowledged.set(d.key, (outcome as { id: number }).id);
  }
  await waitFor(() => storedRows(dbFile).every((r) => r.status === 'processed'), 'the first deliveries processed');
  // Oura notifications whose document fetches are held until the database cannot be written.
  for (const { d, outcome } of await sendAll(notifications)) {
    expect(outcome.status).toBe(200);
    acknowledged.set(d.key, (outcome as { id: number }).id);
  }
  await waitFor(() => proxy.parked() === notifications.length, 'the Oura fetches in flight');
  // Empty the write-ahead log, so that the next commit must grow a file.
  const db = openDatabase(dbFile);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const rowsBefore = storedRows(dbFile).length;

  breakIt(ctx);
  proxy.release();
  await listener.waitForLine((l) => l.type === 'error' && /background work failed/.test(String(l.message)), 'a fetched document that could not be stored');
  const refused: Delivery[] = [];
  const answers: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const batch = Array.from({ length: PER_ROUND }, (_, i) => vitalSleep(`msg_${name}_during_${round}_${i}`, 2_000));
    for (const { d, outcome } of await sendAll(batch)) {
      answers[String(outcome.status)] = (answers[String(outcome.status)] ?? 0) + 1;
      expect(outcome.status, `${name}: a delivery the receiver could not store`).toBe(503);
      refused.push(d);
    }
    const health = await fetch(`${listener.url}/healthz`);
    expect(health.status).toBe(200);
  }
  fixIt(ctx);
  expect(storedRows(dbFile)).toHaveLength(rowsBefore);
  const reasons = listener.lines().filter((l) => l.type === 'error' && /could not store/.test(String(l.message))).map((l) => String(l.message));
  expect(reasons.length).toBeGreaterThan(0);

  // After: the senders retry and everything is accepted, once.
  for (const { d, outcome } of await sendAll(refused)) {
    expect(outcome.status, `${name}: a retry after recovery`).toBe(200);
    expect((outcome as { duplicate: boolean }).duplicate).toBe(false);
    acknowledged.set(d.key, (outcome as { id: number }).id);
  }
  // Including the Oura documents whose first store failed: retried without a restart.
  await waitFor(() => storedRows(dbFile).every((r) => r.status === 'processed'), 'every delivery processed after recovery');
  expect(fake.requestsTo('/v2/usercollection/sleep/').filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(2 * notifications.length);
  expect(await listener.stop('SIGTERM')).toBe(0);
  listener = undefined;
  const stored = new Map(storedRows(dbFile).map((r) => [r.id, r]));
  for (const [key, id] of acknowledged) expect(stored.has(id), `acknowledged ${key} missing`).toBe(true);
  expect(stored.size).toBe(acknowledged.size);
  expect(integrityCheck(dbFile)).toBe('ok');
  results[name] = {
    deliveries_while_unwritable: refused.length,
    answers_while_unwritable: answers,
    accepted_after_recovery: refused.length,
    oura_fetches_interrupted_then_completed: notifications.length,
    acknowledged_total: acknowledged.size,
    error_reason: reasons[0]?.replace(/^could not store a \w+ delivery: /, ''),
  };
  deliveriesSent += acknowledged.size;
  record('unwritable', results, { deliveries: deliveriesSent });
}

describe('a database that cannot be written', () => {
  const mountDir = tempDir('wearhook-tmpfs-');
  const canMount = isRoot && run('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountDir]);
  if (canMount) run('umount', [mountDir]);
  fs.rmSync(mountDir, { recursive: true, force: true });

  it.skipIf(!canMount)('full disk: 503 while the disk is full, 2xx once there is room again (tmpfs, root)', async () => {
    const dir = tempDir('wearhook-tmpfs-');
    expect(run('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir])).toBe(true);
    cleanups.push(() => {
      run('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const filler = path.join(dir, 'filler');
    await exercise(
      'full_disk',
      dir,
      () => {
        // Fill every last block.
        const fd = fs.openSync(filler, 'w');
        for (const size of [1 << 20, 1 << 16, 1 << 12, 1]) {
          const chunk = Buffer.alloc(size, 1);
          try {
            for (;;) fs.writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
        }
        fs.closeSync(fd);
      },
      () => fs.rmSync(filler),
    );
  });

  it.skipIf(!isRoot)('read-only database files: 503 while immutable, 2xx once writable (chattr +i, root)', async (ctx) => {
    const dir = tempDir('wearhook-readonly-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const probe = path.join(dir, 'probe');
    fs.writeFileSync(probe, 'x');
    const enforced = run('chattr', ['+i', probe]) && (() => {
      try {
        fs.appendFileSync(probe, 'y');
        return false;
      } catch {
        return true;
      }
    })();
    run('chattr', ['-i', probe]);
    // Some file systems (tmpfs, overlayfs) do not support or enforce the immutable flag.
    if (!enforced) return ctx.skip();
    const files = (dbFile: string) => [dbFile, `${dbFile}-wal`];
    await exercise(
      'read_only_files',
      dir,
      ({ dbFile }) => expect(run('chattr', ['+i', ...files(dbFile)])).toBe(true),
      ({ dbFile }) => expect(run('chattr', ['-i', ...files(dbFile)])).toBe(true),
    );
  });

  const hasPrlimit = run('prlimit', ['--version']);
  it.skipIf(!hasPrlimit)('file size limit: 503 while no file may grow, 2xx once it may (RLIMIT_FSIZE via prlimit, any user)', async () => {
    const dir = tempDir('wearhook-fsize-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    await exercise(
      'file_size_limit',
      dir,
      ({ pid }) => expect(run('prlimit', ['--pid', String(pid), '--fsize=1024:'])).toBe(true),
      ({ pid }) => expect(run('prlimit', ['--pid', String(pid), '--fsize=unlimited:'])).toBe(true),
    );
  });
});
