import fs from 'node:fs';
import path from 'node:path';
import { configDir } from './paths.js';
import { RuntimeError, UsageError, errorMessage } from '../errors.js';
import { DEFAULTS, SETTINGS, type SettingKey } from './setting-keys.js';

export { DEFAULTS, SETTINGS, isSettingKey, parseSettingKey, redact, type SettingKey } from './setting-keys.js';

/** A settings or credentials file that does not parse: reported, never silently cleared (it may hold the only copy of a user's credentials). */
export function invalidJsonError(file: string, err: unknown): RuntimeError {
  return new RuntimeError(`The file ${file} is not valid JSON (${errorMessage(err)}); fix it by hand or move it away, wearhook will not overwrite it.`);
}

/**
 * The settings: the environment, then `config.json` in the config directory, then the
 * defaults. Reading parses the file directly, as conf would (a missing file is empty, a corrupt
 * one an error), so that commands which only read settings (most of them, and export) do not
 * load conf and its JSON-schema validator at start-up; writing goes through conf (atomic, 0600).
 */
export class Settings {
  get path(): string {
    return path.join(configDir(), 'config.json');
  }

  /** The file's settings, read afresh each time (another process may have changed it). */
  private stored(key: SettingKey): unknown {
    let text: string;
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      throw new RuntimeError(`Cannot open ${this.path}: ${errorMessage(err)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw invalidJsonError(this.path, err);
    }
    return parsed && typeof parsed === 'object' && Object.hasOwn(parsed, key) ? (parsed as Record<string, unknown>)[key] : undefined;
  }

  /** The value in force: environment first, then the file, then the default. */
  get(key: SettingKey): string | undefined {
    const fromEnv = process.env[SETTINGS[key].env];
    if (fromEnv) return fromEnv;
    const stored = this.stored(key);
    if (typeof stored === 'string' && stored !== '') return stored;
    return DEFAULTS[key];
  }

  source(key: SettingKey): 'env' | 'file' | 'default' | 'unset' {
    if (process.env[SETTINGS[key].env]) return 'env';
    if (typeof this.stored(key) === 'string') return 'file';
    return DEFAULTS[key] !== undefined ? 'default' : 'unset';
  }

  async set(key: SettingKey, value: string): Promise<void> {
    (await confFile()).set(key, value);
  }

  async unset(key: SettingKey): Promise<void> {
    (await confFile()).delete(key);
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

async function confFile() {
  const { openConfFile } = await import('./conf-file.js');
  return openConfFile<Record<string, string>>('config');
}
