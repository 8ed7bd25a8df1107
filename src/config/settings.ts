import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { configDir } from './paths.js';
import { RuntimeError, UsageError, errorMessage } from '../errors.js';

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
 * Open a conf store in the config directory with mode 0600. A corrupt file is reported,
 * never silently cleared: it may hold the only copy of a user's credentials.
 */
export function openConfFile<T extends Record<string, unknown>>(name: string): Conf<T> {
  const dir = configDir();
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new Conf<T>({
      cwd: dir,
      configName: name,
      projectName: 'wearhook',
      configFileMode: 0o600,
      clearInvalidConfig: false,
      accessPropertiesByDotNotation: false,
    });
  } catch (err) {
    const file = path.join(dir, `${name}.json`);
    if (err instanceof SyntaxError || /JSON/i.test(errorMessage(err))) {
      throw new RuntimeError(
        `The file ${file} is not valid JSON (${errorMessage(err)}); fix it by hand or move it away, wearhook will not overwrite it.`,
      );
    }
    throw new RuntimeError(`Cannot open ${file}: ${errorMessage(err)}`);
  }
}

export class Settings {
  private conf: Conf<Record<string, string>> | undefined;

  private file(): Conf<Record<string, string>> {
    this.conf ??= openConfFile<Record<string, string>>('config');
    return this.conf;
  }

  get path(): string {
    return path.join(configDir(), 'config.json');
  }

  /** The value in force: environment first, then the file, then the default. */
  get(key: SettingKey): string | undefined {
    const fromEnv = process.env[SETTINGS[key].env];
    if (fromEnv) return fromEnv;
    const stored = this.file().get(key);
    if (typeof stored === 'string' && stored !== '') return stored;
    return DEFAULTS[key];
  }

  source(key: SettingKey): 'env' | 'file' | 'default' | 'unset' {
    if (process.env[SETTINGS[key].env]) return 'env';
    if (typeof this.file().get(key) === 'string') return 'file';
    return DEFAULTS[key] !== undefined ? 'default' : 'unset';
  }

  set(key: SettingKey, value: string): void {
    this.file().set(key, value);
  }

  unset(key: SettingKey): void {
    this.file().delete(key);
  }

  require(key: SettingKey, what: string): string {
    const value = this.get(key);
    if (!value) {
      throw new UsageError(
        `${what} is not set: export ${SETTINGS[key].env}=... or run \`wearhook config set ${key} ...\`.`,
      );
    }
    return value;
  }
}

export function parseSettingKey(key: string): SettingKey {
  if (!isSettingKey(key)) {
    throw new UsageError(`Unknown setting "${key}". Known settings: ${Object.keys(SETTINGS).join(', ')}.`);
  }
  return key;
}
