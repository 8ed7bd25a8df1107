import type { IncomingMessage } from 'node:http';

/** The largest delivery the receiver takes (CONTRACT: over 1 MiB is 413). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** How much of an oversized body is read and thrown away so the sender can read its 413; beyond this the connection is cut. */
const DISCARD_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * Read a request body as exact bytes, keeping at most `cap` of them in memory. A declared
 * Content-Length over the cap is refused before reading; a body that grows past it while
 * streaming (chunked) is refused as soon as it does. Either way the rest is discarded, not kept.
 */
export function readBody(req: IncomingMessage, cap = MAX_BODY_BYTES): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) {
    discardRest(req, 0);
    return Promise.resolve({ ok: false, reason: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) {
        req.off('data', onData);
        req.off('end', onEnd);
        chunks.length = 0;
        discardRest(req, size);
        resolve({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve({ ok: true, body: Buffer.concat(chunks, size) });
    req.on('data', onData);
    req.on('end', onEnd);
    // The sender went away mid-body: nothing to store, nobody to answer.
    req.on('error', () => resolve({ ok: false, reason: 'aborted' }));
    req.on('close', () => {
      if (!req.complete) resolve({ ok: false, reason: 'aborted' });
    });
  });
}

function discardRest(req: IncomingMessage, alreadyRead: number): void {
  let discarded = alreadyRead;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_LIMIT_BYTES) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}
