import { corsanoProvider } from './corsano/webhook.js';
import { openWearablesProvider } from './open-wearables/webhook.js';
import { ouraProvider } from './oura/webhook.js';
import { standardProvider } from './standard/webhook.js';
import { InvalidSecret } from './standard-webhooks/standard-webhook.js';
import { vitalProvider } from './vital/webhook.js';
import { PROVIDER_NAMES, type Provider, type ProviderName } from './types.js';
import { SETTINGS, type SettingKey, type Settings } from '../config/settings.js';
import { UsageError } from '../errors.js';

/** The setting that holds each provider's signing key (Oura's is the application's client secret). */
export const SECRET_SETTING: Record<ProviderName, SettingKey> = {
  oura: 'oura.clientSecret',
  vital: 'secrets.vital',
  'open-wearables': 'secrets.openWearables',
  standard: 'secrets.standard',
  corsano: 'secrets.corsano',
};

export interface ProviderConfig {
  secrets: Partial<Record<ProviderName, string>>;
  corsanoSignatureHeader?: string;
}

export function providerConfigFromSettings(settings: Settings): ProviderConfig {
  const secrets: Partial<Record<ProviderName, string>> = {};
  for (const name of PROVIDER_NAMES) secrets[name] = settings.get(SECRET_SETTING[name]);
  return { secrets, corsanoSignatureHeader: settings.get('corsano.signatureHeader') };
}

/** One provider per route; a malformed Standard Webhooks secret is a usage error naming its setting. */
export function buildProviders(config: ProviderConfig): Map<ProviderName, Provider> {
  const build: Record<ProviderName, () => Provider> = {
    oura: () => ouraProvider(config.secrets.oura),
    vital: () => vitalProvider(config.secrets.vital),
    'open-wearables': () => openWearablesProvider(config.secrets['open-wearables']),
    standard: () => standardProvider(config.secrets.standard),
    corsano: () => corsanoProvider(config.secrets.corsano, config.corsanoSignatureHeader?.toLowerCase()),
  };
  const providers = new Map<ProviderName, Provider>();
  for (const name of PROVIDER_NAMES) {
    try {
      providers.set(name, build[name]());
    } catch (err) {
      if (!(err instanceof InvalidSecret)) throw err;
      const key = SECRET_SETTING[name];
      throw new UsageError(
        `The ${name} signing secret (${SETTINGS[key].env} or \`config set ${key}\`) is not a Standard Webhooks secret: it must be whsec_ followed by base64.`,
      );
    }
  }
  return providers;
}
