import { HttpClient } from '../net/http-client.js';
import { providerRouteUrl } from '../net/target-url.js';
import { SETTINGS, type Settings } from '../config/settings.js';
import { RuntimeError, UsageError } from '../errors.js';
import { DEFAULT_CORSANO_SIGNATURE_HEADER, signCorsano } from '../providers/corsano/webhook.js';
import { signOura } from '../providers/oura/verify.js';
import { SECRET_SETTING } from '../providers/registry.js';
import { InvalidSecret, signStandardHeaders } from '../providers/standard-webhooks/standard-webhook.js';
import { isProviderName, PROVIDER_NAMES, type ProviderName } from '../providers/types.js';
import { buildPayload, newMessageId, TRIGGER_EVENTS } from './payloads.js';

export interface TriggerOptions {
  provider: string;
  event?: string;
  to: string;
  secret?: string;
  userId?: string;
  now?: Date;
}

export interface TriggerResult {
  provider: ProviderName;
  event: string;
  url: string;
  status: number;
  response: string;
}

export interface SignedDelivery {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  event: string;
}

function resolveEvent(provider: ProviderName, event: string | undefined): string {
  const events = TRIGGER_EVENTS[provider];
  if (event === undefined) return events[0]!;
  // Oura: any <data_type>.<create|update|delete>; the others: the events listed.
  if (provider === 'oura' ? /^[a-z0-9_]+\.(create|update|delete)$/.test(event) : events.includes(event)) return event;
  if (provider === 'standard' && /^[\w.-]+$/.test(event)) return event;
  throw new UsageError(`Unknown ${provider} event "${event}"; try one of: ${events.join(', ')}.`);
}

/** Build and sign one delivery as the provider would send it, with the secret `listen` verifies against. */
export function signedDelivery(settings: Settings, options: TriggerOptions): SignedDelivery {
  if (!isProviderName(options.provider)) {
    throw new UsageError(`Unknown provider "${options.provider}"; choose from ${PROVIDER_NAMES.join(', ')}.`);
  }
  const provider = options.provider;
  const event = resolveEvent(provider, options.event);
  const key = SECRET_SETTING[provider];
  const secret = options.secret ?? settings.get(key);
  if (!secret) {
    throw new UsageError(
      `No signing secret for ${provider}: pass --secret or set ${SETTINGS[key].env} (or \`wearhook config set ${key} ...\`), the same one \`wearhook listen\` uses.`,
    );
  }
  const now = options.now ?? new Date();
  const payload = buildPayload(provider, event, { now, offsetMinutes: -now.getTimezoneOffset(), userId: options.userId });
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const seconds = Math.floor(now.getTime() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'wearhook-trigger' };

  if (provider === 'oura') {
    headers['x-oura-timestamp'] = String(seconds);
    headers['x-oura-signature'] = signOura(secret, seconds, body);
  } else if (provider === 'corsano') {
    headers[settings.get('corsano.signatureHeader')?.toLowerCase() ?? DEFAULT_CORSANO_SIGNATURE_HEADER] = signCorsano(secret, body);
  } else {
    // Vital and Open Wearables send through Svix (svix-* headers); other senders use webhook-*.
    try {
      Object.assign(headers, signStandardHeaders(secret, newMessageId(), seconds, body, provider === 'standard' ? 'webhook' : 'svix'));
    } catch (err) {
      if (err instanceof InvalidSecret) throw new UsageError(`The ${provider} secret must be whsec_ followed by base64.`);
      throw err;
    }
  }
  return { url: providerRouteUrl(options.to, provider), headers, body, event };
}

/** Send it once (no retries: the point is to see what the receiver answers). */
export async function sendTrigger(settings: Settings, options: TriggerOptions, client = new HttpClient({ timeoutMs: 15_000 })): Promise<TriggerResult> {
  const delivery = signedDelivery(settings, options);
  let res;
  try {
    res = await client.request({ method: 'POST', url: delivery.url, headers: delivery.headers, body: delivery.body, retry: 'never' });
  } catch (err) {
    throw new RuntimeError(`Could not deliver to ${delivery.url} (${(err as Error).message.replace(/\.$/, '')}); is \`wearhook listen\` running there?`);
  }
  return {
    provider: options.provider as ProviderName,
    event: delivery.event,
    url: delivery.url,
    status: res.status,
    response: res.text(),
  };
}
