import type { IncomingMessage } from 'node:http';
import type { BodyBudget } from './limits.js';

/** The largest delivery the receiver takes (CONTRACT: over 1 MiB is 413). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** How much of an oversized body is read and thrown away so the sender can read its 413; beyond this the connection is cut. */
const DISCARD_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

export type BodyResult =
  /** `release` gives the body's bytes back to the budget once it is no longer held. */
  | { ok: true; body: Buffer; release: () => void }
  /** busy: the bodies of other requests already hold the whole budget. */
  | { ok: false; reason: 'too-large' | 'aborted' | 'busy' };

/**
 * Read a request body as exact bytes, keeping at most `cap` of them in memory, and only as
 * many as the shared `budget` allows. A declared Content-Length over the cap is refused before
 * reading; a body that grows past it while streaming (chunked) is refused as soon as it does.
 * Either way the rest is discarded, not kept.
 */
export function readBody(req: IncomingMessage, budget?: BodyBudget, cap = MAX_BODY_BYTES): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) {
    discardRest(req, 0);
    return Promise.resolve({ ok: false, reason: 'too-large' });
  }
  // A declared length is taken from the budget whole, before a byte is read; a chunked body as it comes.
  let taken = 0;
  const take = (bytes: number) => {
    if (budget && !budget.take(bytes)) return false;
    taken += bytes;
    return true;
  };
  const release = () => {
    budget?.release(taken);
    taken = 0;
  };
  const known = Number.isFinite(declared) && req.headers['transfer-encoding'] === undefined;
  if (known && !take(declared)) return Promise.resolve({ ok: false, reason: 'busy' });
  return new Promise((done) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const resolve = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      done(result);
    };
    const fail = (reason: 'too-large' | 'busy') => {
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      release();
      discardRest(req, size);
      resolve({ ok: false, reason });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) return fail('too-large');
      if (!known && !take(chunk.length)) return fail('busy');
      chunks.push(chunk);
    };
    const onEnd = () => resolve({ ok: true, body: Buffer.concat(chunks, size), release });
    req.on('data', onData);
    req.on('end', onEnd);
    // The sender went away mid-body: nothing to store, nobody to answer.
    const aborted = () => {
      if (settled) return;
      release();
      resolve({ ok: false, reason: 'aborted' });
    };
    req.on('error', aborted);
    req.on('close', () => {
      if (!req.complete) aborted();
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
