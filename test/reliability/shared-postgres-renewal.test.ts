import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, startFakeOuraSubs, type FakeOuraSubs } from '../helpers/oura-subs-fake.js';
import { tempDir } from '../helpers/cli.js';
import { waitFor } from './deliveries.js';
import { random, record, SEED } from './report.js';
import { openStore } from '../../src/store/open.js';
import { storeLocation } from '../../src/store/location.js';
import { leaseHolderOp } from '../../src/store/leases.js';
import { RENEW_LEASE } from '../../src/tunnels/listen-plan.js';

/**
 * Two `listen --subscribe` processes on one PostgreSQL database behind one public URL (a
 * round-robin proxy, as a load balancer): each subscription due for renewal is renewed once,
 * by whichever process holds the renewal lease; after one of them is SIGKILLed, the other
 * renews alone. Oura's side is the subscriptions look-alike, which counts every renewal.
 */

const ROUNDS = 3;
const DAY_MS = 86_400_000;

let server: PostgresServer | undefined;
let oura: FakeOuraSubs | undefined;
let balancer: TestServer | undefined;
const processes: ListenProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await balancer?.close();
  await oura?.close();
  await server?.stop();
});

/** Every request to the next live receiver in turn, bytes and answer untouched. */
async function roundRobin(upstreams: () => string[]): Promise<TestServer> {
  let turn = 0;
  return startServer((req, res) => {
    const live = upstreams();
    if (live.length === 0) return void res.writeHead(502).end();
    const target = new URL(req.url ?? '/', live[turn++ % live.length]);
    const forward = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
}

describe('subscription renewal with two receivers on one PostgreSQL database', () => {
  it('renews each due subscription once, also after one receiver is SIGKILLed', async () => {
    const rng = random(SEED + 17);
    server = await startPostgresServer();
    const url = await server.createDatabase('wearhook_renewal');
    // A renewal takes longer than a check interval: without the lease, the other receiver's
    // check would find the same subscriptions still due and renew them again.
    oura = await startFakeOuraSubs({ renewDelayMs: 1_500 });
    const receivers: (ListenProcess | null)[] = [];
    // A receiver is in the rotation from the moment it listens (its public side probes through
    // the balancer before it says it is ready) until it is killed.
    const upstreams = new Map<number, string>();
    balancer = await roundRobin(() => [...upstreams.values()]);
    const env = {
      WEARHOOK_DB: url,
      WEARHOOK_CONFIG_DIR: tempDir(),
      OURA_CLIENT_ID: FAKE_CLIENT_ID,
      OURA_CLIENT_SECRET: FAKE_CLIENT_SECRET,
      WEARHOOK_OURA_API_URL: oura.url,
    };
    const args = ['--public-url', balancer.url, '--subscribe', '--data-type', 'sleep', '--no-reconcile', '--no-catch-up', '--renew-check', '1s'];
    const start = async () => {
      const n = processes.length;
      const onStderr = (text: string) => {
        const listening = /receiver on (http:\/\/\S+);/.exec(text);
        if (listening && !upstreams.has(n)) upstreams.set(n, listening[1]!);
      };
      const p = await startListen(env, args, { onStderr });
      processes.push(p);
      return p;
    };
    // One after the other: the first makes the three subscriptions (create, update, delete of
    // sleep), the second finds them there. Each probes the public URL, answered by either.
    receivers.push(await start());
    await receivers[0]!.waitForLine((l) => l.type === 'subscribed', 'the first subscribed');
    receivers.push(await start());
    await receivers[1]!.waitForLine((l) => l.type === 'subscribed', 'the second subscribed');
    expect(oura.subscriptions.size).toBe(3);
    const ids = [...oura.subscriptions.keys()];

    const renewals = () => oura!.requests.filter((r) => r.startsWith('PUT /v2/webhook/subscription/renew/'));
    const renewalsOf = (id: string) => renewals().filter((r) => r.endsWith(`/${id}`)).length;
    const kill = rng.int(1, ROUNDS - 1);
    let killed = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      // Oura's subscriptions come within 7 days of expiry: due for renewal by both receivers' checks.
      for (const sub of oura.subscriptions.values()) sub.expiration_time = new Date(Date.now() + 2 * DAY_MS).toISOString();
      await waitFor(() => ids.every((id) => renewalsOf(id) >= round), `round ${round}'s renewals`, 30_000);
      // Several more checks of both, the last renewal answered meanwhile: nobody renews again what is no longer due.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      for (const id of ids) expect(renewalsOf(id), `renewals of ${id} after round ${round}`).toBe(round);
      if (round === kill) {
        const which = rng.int(0, 1);
        const victim = receivers[which]!;
        receivers[which] = null;
        upstreams.delete(processes.indexOf(victim));
        victim.child.kill('SIGKILL');
        expect(await victim.exited).toBe('SIGKILL');
        killed++;
      }
    }
    const renewedBy = processes.map((p) => p.stderr().split('\n').filter((l) => l.includes('renewed subscription')).length);
    expect(renewedBy.reduce((a, b) => a + b, 0)).toBe(ids.length * ROUNDS);

    // The survivor stops: on PostgreSQL the subscriptions stay for the other receivers.
    const survivor = receivers.find((r) => r !== null)!;
    expect(await survivor.stop('SIGTERM')).toBe(0);
    expect(oura.subscriptions.size).toBe(3);
    const store = await openStore(storeLocation(url));
    try {
      // Nobody holds the renewal lease any more (a killed holder's row counts as free).
      expect(await store.read(leaseHolderOp, RENEW_LEASE, Date.now())).toBeUndefined();
    } finally {
      await store.close();
    }

    record('shared_postgres_renewal', {
      seed: SEED + 17,
      receivers: 2,
      subscriptions: ids.length,
      rounds: ROUNDS,
      kills: killed,
      renewals_reaching_oura: renewals().length,
      renewals_by_process: renewedBy,
    });
  });
});
