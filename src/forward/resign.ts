import { SETTINGS } from '../config/setting-keys.js';
import { UsageError } from '../errors.js';
import { DEFAULT_CORSANO_SIGNATURE_HEADER, signCorsano } from '../providers/corsano/webhook.js';
import { signOura } from '../providers/oura/verify.js';
import { SECRET_SETTING, type ProviderConfig } from '../providers/registry.js';
import { InvalidSecret, signStandardHeaders } from '../providers/standard-webhooks/standard-webhook.js';
import { isProviderName, type ProviderName } from '../providers/types.js';
import type { HeaderPairs } from '../store/deliveries.js';
import { newMessageId } from '../trigger/payloads.js';

const STANDARD_NAMES = ['id', 'timestamp', 'signature'].flatMap((part) => [`webhook-${part}`, `svix-${part}`]);

/**
 * Put `fresh` in place of the signing headers `replaced`: each at the position of the first
 * header it replaces (so the request still looks like the sender's), the rest appended.
 */
function replaceHeaders(pairs: HeaderPairs, replaced: readonly string[], fresh: Record<string, string>): HeaderPairs {
  const drop = new Set(replaced.map((name) => name.toLowerCase()));
  const pending = new Map(Object.entries(fresh).map(([name, value]) => [name.toLowerCase(), value]));
  const out: HeaderPairs = [];
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    if (!drop.has(key)) {
      out.push([name, value]);
      continue;
    }
    const replacement = pending.get(key);
    if (replacement !== undefined) {
      out.push([name, replacement]);
      pending.delete(key);
    }
  }
  for (const [name, value] of pending) out.push([name, value]);
  return out;
}

/** The configured secret that re-signs deliveries of `provider`; a usage error names the setting when there is none. */
export function signingSecret(provider: string, config: ProviderConfig): string {
  if (!isProviderName(provider)) throw new UsageError(`Cannot re-sign a delivery of the unknown provider "${provider}".`);
  const secret = config.secrets[provider];
  if (secret) return secret;
  const key = SECRET_SETTING[provider];
  throw new UsageError(
    `--resign needs the ${provider} signing secret: set ${SETTINGS[key].env} or run \`wearhook config set ${key} ...\` (the one your receiver checks).`,
  );
}

/**
 * The headers of a stored delivery signed anew with the configured secret of its provider, as
 * the provider would sign it now: Standard Webhooks senders get a fresh message id and
 * timestamp (`svix-*` stays `svix-*`); Oura a fresh `x-oura-timestamp` and its HMAC of timestamp
 * and body with the client secret (Oura has no delivery id, and the body stays byte for byte,
 * so a receiver that deduplicates sees the same notification); Corsano, which signs only the
 * body, a new signature in the configured header. No secret configured: a usage error.
 */
export function resignHeaders(provider: string, pairs: HeaderPairs, body: Buffer, config: ProviderConfig, now = new Date()): HeaderPairs {
  const secret = signingSecret(provider, config);
  const key = SECRET_SETTING[provider as ProviderName];
  const seconds = Math.floor(now.getTime() / 1000);
  if (provider === 'oura') {
    return replaceHeaders(pairs, ['x-oura-timestamp', 'x-oura-signature'], {
      'x-oura-timestamp': String(seconds),
      'x-oura-signature': signOura(secret, seconds, body),
    });
  }
  if (provider === 'corsano') {
    const header = config.corsanoSignatureHeader?.toLowerCase() ?? DEFAULT_CORSANO_SIGNATURE_HEADER;
    return replaceHeaders(pairs, [header], { [header]: signCorsano(secret, body) });
  }
  const brand = pairs.some(([name]) => name.toLowerCase() === 'svix-id') ? 'svix' : 'webhook';
  try {
    const fresh = signStandardHeaders(secret, newMessageId(), seconds, body, brand);
    return replaceHeaders(pairs, STANDARD_NAMES, fresh);
  } catch (err) {
    if (err instanceof InvalidSecret) throw new UsageError(`The ${provider} signing secret (${SETTINGS[key].env}) must be whsec_ followed by base64.`);
    throw err;
  }
}
