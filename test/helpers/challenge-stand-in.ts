import { openDatabase } from '../../src/store/db.js';
import { isKnownVerificationToken } from '../../src/store/subscriptions.js';
import { startServer, type TestServer } from './http-server.js';

/**
 * Only the challenge half of a receiver: answers `GET /oura?verification_token&challenge` from
 * the database a `subs create` child process writes to, through the same lookup `listen` uses.
 * For tests about `subs` itself; the end-to-end test runs the real `wearhook listen`.
 */
export async function startChallengeStandIn(dbFile: string): Promise<TestServer> {
  const db = openDatabase(dbFile);
  const server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const token = url.searchParams.get('verification_token') ?? '';
    if (req.method === 'GET' && url.pathname === '/oura' && isKnownVerificationToken(db, token)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ challenge: url.searchParams.get('challenge') }));
    } else {
      res.writeHead(401).end();
    }
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      db.close();
    },
  };
}
