import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import lockfile from 'proper-lockfile';
import type Conf from 'conf';
import { configDir } from '../config/paths.js';
import { openConfFile } from '../config/conf-file.js';
import { RuntimeError, errorMessage } from '../errors.js';

/** One user's OAuth tokens as kept in the credential file (never in the database). */
export interface StoredTokens {
  access_token: string;
  /** Single-use at Oura: the one stored here is the only one that still works. */
  refresh_token: string;
  /** ISO 8601 instant the access token stops working. */
  expires_at: string;
  scopes: string[];
  obtained_at: string;
}

type CredentialFile = Record<string, StoredTokens>;

/** How long a lock holder may go silent before another process may take the lock over. */
const STALE_LOCK_MS = 20_000;

/**
 * The credential store: `credentials.json` in the config directory, mode 0600, written
 * atomically (temp file, fsync, rename). Every change is a read-modify-write under a
 * file-wide lock, so two wearhook processes saving tokens of different users never undo
 * each other's writes. Refreshes take a second, per-user lock (`withUserLock`).
 */
export class CredentialStore {
  private conf: Conf<CredentialFile> | undefined;
  readonly dir = configDir();

  get file(): string {
    return path.join(this.dir, 'credentials.json');
  }

  get(provider: string, userId: string): StoredTokens | undefined {
    const value = this.read((conf) => conf.get(key(provider, userId)));
    return isStoredTokens(value) ? value : undefined;
  }

  /** Which users have tokens, without the tokens. */
  list(provider: string): string[] {
    const prefix = `${provider}:`;
    return this.read((conf) => Object.keys(conf.store))
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length));
  }

  async save(provider: string, userId: string, tokens: StoredTokens): Promise<void> {
    await this.withLock(this.file, 'the credential file', () => {
      this.write((conf) => conf.set(key(provider, userId), tokens));
    });
  }

  async remove(provider: string, userId: string): Promise<boolean> {
    return this.withLock(this.file, 'the credential file', () =>
      this.write((conf) => {
        const had = conf.has(key(provider, userId));
        conf.delete(key(provider, userId));
        return had;
      }),
    );
  }

  /**
   * Run `fn` while holding this user's refresh lock, shared by every wearhook process
   * on the machine. Re-read the tokens inside `fn`: another process may have refreshed.
   */
  async withUserLock<T>(provider: string, userId: string, fn: () => Promise<T>): Promise<T> {
    const lockDir = path.join(this.dir, 'locks');
    fs.mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    return this.withLock(path.join(lockDir, `${provider}-${safeName(userId)}`), `the tokens of ${provider} user ${userId}`, fn, 180);
  }

  private async withLock<T>(target: string, what: string, fn: () => T | Promise<T>, retries = 60): Promise<T> {
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: `${target}.lock`,
        stale: STALE_LOCK_MS,
        retries: { retries, factor: 1.3, minTimeout: 50, maxTimeout: 500, randomize: true },
        // The default throws from a timer and kills the process; a lost lock only means
        // another process may now refresh too, which the re-read after a failed refresh covers.
        onCompromised: () => undefined,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'ELOCKED') {
        throw new RuntimeError(`Another wearhook process is still busy with ${what}; try again in a minute.`, { cause: err });
      }
      throw new RuntimeError(`Cannot lock ${what} (${errorMessage(err)}).`, { cause: err });
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }

  private open(): Conf<CredentialFile> {
    this.conf ??= openConfFile<CredentialFile>('credentials');
    return this.conf;
  }

  private read<T>(fn: (conf: Conf<CredentialFile>) => T): T {
    try {
      return fn(this.open());
    } catch (err) {
      throw this.describe(err);
    }
  }

  private write<T>(fn: (conf: Conf<CredentialFile>) => T): T {
    try {
      return fn(this.open());
    } catch (err) {
      throw this.describe(err, 'saving tokens to');
    }
  }

  private describe(err: unknown, doing = 'reading'): Error {
    if (err instanceof RuntimeError) return err;
    if (err instanceof SyntaxError) {
      return new RuntimeError(
        `The credential file ${this.file} is not valid JSON (${err.message}); fix it by hand or move it away, wearhook will not overwrite it.`,
      );
    }
    return new RuntimeError(`Failed ${doing} the credential file ${this.file}: ${errorMessage(err)}`, { cause: err });
  }
}

function key(provider: string, userId: string): string {
  return `${provider}:${userId}`;
}

/** A user id as a file name: kept readable when it is harmless, hashed otherwise. */
function safeName(userId: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(userId) ? userId : createHash('sha256').update(userId).digest('hex').slice(0, 32);
}

function isStoredTokens(value: unknown): value is StoredTokens {
  const v = value as StoredTokens | undefined;
  return !!v && typeof v.access_token === 'string' && typeof v.refresh_token === 'string' && typeof v.expires_at === 'string';
}
