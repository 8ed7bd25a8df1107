import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { configDir } from './paths.js';
import { RuntimeError, errorMessage } from '../errors.js';
import { invalidJsonError } from './settings.js';

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
    if (err instanceof SyntaxError || /JSON/i.test(errorMessage(err))) throw invalidJsonError(file, err);
    throw new RuntimeError(`Cannot open ${file}: ${errorMessage(err)}`);
  }
}
