import { request } from 'undici';
import { startServer } from './http-server.js';

/**
 * An Oura API in front of the fake that parks document requests while `holding`, so that
 * fetches are certainly in flight at a chosen moment; `release()` lets them through.
 */
export async function holdingOuraProxy(target: string) {
  const parked: (() => void)[] = [];
  const state = { holding: true };
  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const pass = async () => {
        const upstream = await request(`${target}${req.url}`, {
          method: req.method as 'GET',
          headers: { ...req.headers, host: new URL(target).host },
          body: chunks.length ? Buffer.concat(chunks) : undefined,
        });
        const body = Buffer.from(await upstream.body.arrayBuffer());
        res.writeHead(upstream.statusCode, { 'content-type': String(upstream.headers['content-type'] ?? 'application/json') }).end(body);
      };
      const go = () => void pass().catch(() => res.destroy());
      if (state.holding && req.url?.startsWith('/v2/usercollection/')) parked.push(go);
      else go();
    });
  });
  return {
    url: server.url,
    parked: () => parked.length,
    release: () => {
      state.holding = false;
      for (const go of parked.splice(0)) go();
    },
    close: () => server.close(),
  };
}
