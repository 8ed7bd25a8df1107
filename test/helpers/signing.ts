import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Independent signers for tests: Standard Webhooks through the `standardwebhooks` package,
 * Oura and Corsano with node:crypto written here, never through wearhook's own code.
 */

export const TEST_SECRETS = {
  oura: 'oura-client-secret-for-tests',
  vital: 'whsec_' + Buffer.from('vital signing key for the tests!').toString('base64'),
  'open-wearables': 'whsec_' + Buffer.from('open wearables key for the tests').toString('base64'),
  standard: 'whsec_' + Buffer.from('a standard webhooks sender key..').toString('base64'),
  corsano: 'corsano-shared-secret',
};

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `webhook-*` headers by default; `svix` renames them as Vital and Open Wearables send them. */
export function standardHeaders(secret: string, id: string, body: string | Buffer, options: { seconds?: number; brand?: 'webhook' | 'svix' } = {}) {
  const seconds = options.seconds ?? nowSeconds();
  const signature = new Webhook(secret).sign(id, new Date(seconds * 1000), Buffer.isBuffer(body) ? body.toString('utf8') : body);
  const brand = options.brand ?? 'webhook';
  return {
    'content-type': 'application/json',
    [`${brand}-id`]: id,
    [`${brand}-timestamp`]: String(seconds),
    [`${brand}-signature`]: signature,
  };
}

export function ouraHeaders(secret: string, body: string | Buffer, options: { seconds?: number; lowerCase?: boolean } = {}) {
  const timestamp = String(options.seconds ?? nowSeconds());
  const hex = createHmac('sha256', secret).update(timestamp + (Buffer.isBuffer(body) ? body.toString('utf8') : body)).digest('hex');
  return {
    'content-type': 'application/json',
    'x-oura-timestamp': timestamp,
    'x-oura-signature': options.lowerCase ? hex : hex.toUpperCase(),
  };
}

export function corsanoHeaders(secret: string, body: string | Buffer, options: { header?: string; encoding?: 'hex' | 'base64' } = {}) {
  return {
    'content-type': 'application/json',
    [options.header ?? 'x-signature']: createHmac('sha256', secret).update(body).digest(options.encoding ?? 'hex'),
  };
}
