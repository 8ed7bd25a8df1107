import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { configDir } from './paths.js';
import { RuntimeError, UsageError, errorMessage } from '../errors.js';
import { DEFAULTS, SETTINGS, type SettingKey } from './setting-keys.js';

export { DEFAULTS, SETTINGS, isSettingKey, parseSettingKey, redact, type SettingKey } from './setting-keys.js';

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
