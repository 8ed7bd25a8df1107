import { UsageError } from '../errors.js';

/**
 * The settings a user can keep in the config store. Environment variables win over
 * stored values, so CI and scripts never need to touch the file.
 */
export const SETTINGS = {
  'oura.clientId': { env: 'OURA_CLIENT_ID', secret: false, help: 'Oura application client id' },
  'oura.clientSecret': { env: 'OURA_CLIENT_SECRET', secret: true, help: 'Oura application client secret (also the webhook signing key)' },
  'oura.apiUrl': { env: 'WEARHOOK_OURA_API_URL', secret: false, help: 'base URL of the Oura API' },
  'oura.authorizeUrl': { env: 'WEARHOOK_OURA_AUTHORIZE_URL', secret: false, help: 'Oura OAuth authorize URL' },
  'secrets.vital': { env: 'WEARHOOK_SECRET_VITAL', secret: true, help: 'Vital (Junction) webhook signing secret, whsec_...' },
  'secrets.openWearables': { env: 'WEARHOOK_SECRET_OPEN_WEARABLES', secret: true, help: 'Open Wearables webhook signing secret, whsec_...' },
  'secrets.standard': { env: 'WEARHOOK_SECRET_STANDARD', secret: true, help: 'signing secret of any other Standard Webhooks sender, whsec_...' },
  'secrets.corsano': { env: 'WEARHOOK_SECRET_CORSANO', secret: true, help: 'Corsano shared webhook secret (experimental)' },
  'corsano.signatureHeader': { env: 'WEARHOOK_CORSANO_SIGNATURE_HEADER', secret: false, help: 'header that carries the Corsano signature (experimental)' },
  'tunnel.localtunnelHost': { env: 'WEARHOOK_LOCALTUNNEL_HOST', secret: false, help: 'localtunnel server to use' },
  'ngrok.authtoken': { env: 'NGROK_AUTHTOKEN', secret: true, help: 'ngrok auth token' },
  'study.key': { env: 'WEARHOOK_STUDY_KEY', secret: true, help: 'study key of export --pseudonymize (pseudonyms and date shifts derive from it)' },
} as const;

export type SettingKey = keyof typeof SETTINGS;

export const DEFAULTS: Partial<Record<SettingKey, string>> = {
  'oura.apiUrl': 'https://api.ouraring.com',
  'oura.authorizeUrl': 'https://cloud.ouraring.com/oauth/authorize',
  'tunnel.localtunnelHost': 'https://localtunnel.me',
};

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

/** Show at most the first 4 characters of a secret. */
export function redact(value: string): string {
  if (value.length <= 4) return '****';
  return `${value.slice(0, 4)}****`;
}

/**
 * A URL as it may be shown: credentials in it (`https://user:pass@host/`) redacted like any
 * other secret, the rest as given. Text that is not a URL is returned unchanged.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (!url.username && !url.password) return text;
  const user = redact(decodeURIComponent(url.username));
  const userinfo = url.password ? `${user}:****` : user;
  return `${url.protocol}//${userinfo}@${url.host}${url.pathname}${url.search}${url.hash}`;
}

export function parseSettingKey(key: string): SettingKey {
  if (!isSettingKey(key)) {
    throw new UsageError(`Unknown setting "${key}". Known settings: ${Object.keys(SETTINGS).join(', ')}.`);
  }
  return key;
}
