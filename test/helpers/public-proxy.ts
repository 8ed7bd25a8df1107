import http from 'node:http';
import { startServer, type TestServer } from './http-server.js';

export interface PublicProxy extends TestServer {
  /** Where requests go from now on (a later call moves them elsewhere); requests that came before the first wait for it. */
  forwardTo(upstream: string): void;
}

/**
 * What a user's own tunnel or reverse proxy does for `listen --public-url`: every request
 * forwarded as it is (method, path, headers, body) to the receiver, and its answer back
 * untouched (a redirect stays a redirect). The receiver's port is known only once it runs.
 */
export async function startPublicProxy(): Promise<PublicProxy> {
  let setFirst!: (url: string) => void;
  let upstream = new Promise<string>((resolve) => (setFirst = resolve));
  const server = await startServer((req, res) => {
    void upstream.then((base) => {
      const target = new URL(req.url ?? '/', base);
      const forward = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
    });
  });
  return {
    ...server,
    forwardTo: (url) => {
      setFirst(url);
      upstream = Promise.resolve(url);
    },
  };
}
