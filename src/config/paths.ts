import os from 'node:os';
import path from 'node:path';

/** Per-user directories, XDG on Linux, the platform's usual places elsewhere. */
function platformDir(kind: 'config' | 'data'): string {
  const home = os.homedir();
  if (process.platform === 'darwin') {
    return path.join(home, 'Library', kind === 'config' ? 'Preferences' : 'Application Support', 'wearhook');
  }
  if (process.platform === 'win32') {
    const base = kind === 'config' ? process.env.APPDATA : process.env.LOCALAPPDATA;
    return path.join(base ?? path.join(home, 'AppData', kind === 'config' ? 'Roaming' : 'Local'), 'wearhook');
  }
  const xdg = kind === 'config' ? process.env.XDG_CONFIG_HOME : process.env.XDG_DATA_HOME;
  return path.join(xdg || path.join(home, kind === 'config' ? '.config' : path.join('.local', 'share')), 'wearhook');
}

export function configDir(): string {
  return process.env.WEARHOOK_CONFIG_DIR || platformDir('config');
}

export function defaultDbPath(): string {
  return path.join(platformDir('data'), 'wearhook.db');
}

export type DbPathSource = 'flag' | 'env' | 'default';

/** `--db` wins over `WEARHOOK_DB`, which wins over the per-user default. */
export function resolveDbPath(flag?: string): string {
  return flag || process.env.WEARHOOK_DB || defaultDbPath();
}

/** Where the database path in force comes from. */
export function dbPathSource(flag?: string): DbPathSource {
  return flag ? 'flag' : process.env.WEARHOOK_DB ? 'env' : 'default';
}
