import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { StandardWebhook, InvalidSecret } from '../src/providers/standard-webhooks/standard-webhook.js';

// The official libraries' test vector (PROVIDERS.md), exact bytes.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const AT_VECTOR_TIME = VECTOR.timestamp * 1000;

function vectorHeaders(signature = VECTOR.signature, brand = 'webhook') {
  return { [`${brand}-id`]: VECTOR.id, [`${brand}-timestamp`]: String(VECTOR.timestamp), [`${brand}-signature`]: signature };
}

describe('Standard Webhooks verifier', () => {
  const verifier = new StandardWebhook(VECTOR.secret);
  const body = Buffer.from(VECTOR.body);

  it('accepts the official test vector with the clock at its timestamp', () => {
    expect(verifier.sign(VECTOR.id, VECTOR.timestamp, body)).toBe(VECTOR.signature);
    expect(verifier.verify(vectorHeaders(), body, AT_VECTOR_TIME)).toEqual({ ok: true });
  });

  it('accepts the Svix-branded headers that Vital and Open Wearables send', () => {
    expect(verifier.verify(vectorHeaders(VECTOR.signature, 'svix'), body, AT_VECTOR_TIME)).toEqual({ ok: true });
  });

  it('accepts when any v1 entry of several matches, skipping other versions', () => {
    const several = `v1a,ZmFrZQ== v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ${VECTOR.signature}`;
    expect(verifier.verify(vectorHeaders(several), body, AT_VECTOR_TIME)).toEqual({ ok: true });
  });

  it('refuses the vector signature under another version tag', () => {
    const v2 = VECTOR.signature.replace('v1,', 'v2,');
    expect(verifier.verify(vectorHeaders(v2), body, AT_VECTOR_TIME).ok).toBe(false);
  });

  it('refuses a body with different spacing: the bytes are signed, not the JSON value', () => {
    const respaced = Buffer.from(JSON.stringify(JSON.parse(VECTOR.body)));
    expect(respaced.toString()).not.toBe(VECTOR.body);
    expect(verifier.verify(vectorHeaders(), respaced, AT_VECTOR_TIME)).toMatchObject({ ok: false, reason: 'no matching v1 signature' });
  });

  it('refuses timestamps more than 5 minutes old or ahead, and accepts the edges', () => {
    expect(verifier.verify(vectorHeaders(), body, AT_VECTOR_TIME + 300_000).ok).toBe(true);
    expect(verifier.verify(vectorHeaders(), body, AT_VECTOR_TIME - 300_000).ok).toBe(true);
    expect(verifier.verify(vectorHeaders(), body, AT_VECTOR_TIME + 301_000)).toMatchObject({ ok: false, reason: expect.stringMatching(/too old/) });
    expect(verifier.verify(vectorHeaders(), body, AT_VECTOR_TIME - 301_000)).toMatchObject({ ok: false, reason: expect.stringMatching(/future/) });
  });

  it('refuses a missing header and a wrong secret', () => {
    const { 'webhook-id': _omitted, ...withoutId } = vectorHeaders();
    expect(verifier.verify(withoutId, body, AT_VECTOR_TIME)).toMatchObject({ ok: false, reason: expect.stringMatching(/missing/) });
    const other = new StandardWebhook('whsec_' + Buffer.from('another secret of 32 bytes......').toString('base64'));
    expect(other.verify(vectorHeaders(), body, AT_VECTOR_TIME).ok).toBe(false);
  });

  it('agrees with the standardwebhooks package both ways', () => {
    const secret = 'whsec_' + Buffer.from('wearhook interop secret 0123456789').toString('base64');
    const theirs = new Webhook(secret);
    const payload = '{"type":"sleep.created",  "data": {"id": "ü-1"}}';
    const now = new Date();
    const seconds = Math.floor(now.getTime() / 1000);
    const theirSignature = theirs.sign('msg_1', now, payload);
    expect(new StandardWebhook(secret).verify(
      { 'webhook-id': 'msg_1', 'webhook-timestamp': String(seconds), 'webhook-signature': theirSignature },
      Buffer.from(payload),
      now.getTime(),
    )).toEqual({ ok: true });

    const ours = new StandardWebhook(secret).sign('msg_2', seconds, Buffer.from(payload));
    expect(() =>
      theirs.verify(payload, { 'webhook-id': 'msg_2', 'webhook-timestamp': String(seconds), 'webhook-signature': ours }),
    ).not.toThrow();
  });

  it('refuses a secret that is not base64', () => {
    expect(() => new StandardWebhook('whsec_not base64!')).toThrow(InvalidSecret);
  });
});
