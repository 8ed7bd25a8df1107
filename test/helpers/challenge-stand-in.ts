import { hashVerificationToken, knownVerificationTokenHashesOp } from '../../src/store/subscriptions.js';
import { openTestStore } from './engine.js';
import { startServer, type TestServer } from './http-server.js';

/**
 * Only the challenge half of a receiver: answers `GET /oura?verification_token&challenge` from
 * the store (a SQLite file or a postgres:// URL) a `subs create` child process writes to,
 * through the token hashes `listen` reads. For tests about `subs` itself; the end-to-end test
 * runs the real `wearhook listen`.
 */
export async function startChallengeStandIn(location: string): Promise<TestServer> {
  const store = await openTestStore(location);
  const server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const token = url.searchParams.get('verification_token') ?? '';
    const known = req.method === 'GET' && url.pathname === '/oura' && token !== '' ? store.read(knownVerificationTokenHashesOp) : Promise.resolve([]);
    void known.then(
      (hashes) => {
        if (hashes.includes(hashVerificationToken(token))) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ challenge: url.searchParams.get('challenge') }));
        } else {
          res.writeHead(401).end();
        }
      },
      () => res.writeHead(500).end(),
    );
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await store.close();
    },
  };
}
