import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { configDir, dbPathSource, resolveDbPath } from '../config/paths.js';
import { redact, SETTINGS, type Settings } from '../config/settings.js';
import { CredentialStore } from '../credentials/token-store.js';
import { errorMessage } from '../errors.js';
import { HttpClient } from '../net/http-client.js';
import { SECRET_SETTING } from '../providers/registry.js';
import { StandardWebhook } from '../providers/standard-webhooks/standard-webhook.js';
import { PROVIDER_NAMES } from '../providers/types.js';
import { deliveryStatusCounts, deliveryStatusCountsOp, inspectDatabase } from '../store/inspect.js';
import { isPostgresUrl, redactDatabaseUrl } from '../store/location.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { listStoredSubscriptions, listStoredSubscriptionsOp, type SubscriptionRow } from '../store/subscriptions.js';
import { listUsers, listUsersOp, type UserRow } from '../store/users.js';
import { findOnPath } from '../tunnels/cloudflared.js';
import { formatLocal } from '../time/display.js';

/**
 * `wearhook doctor`: what a person needs to know before wondering why nothing arrives. Each
 * check says ok, warn or fail, and what to do; nothing is created, upgraded or sent anywhere
 * (the ports are tried on 127.0.0.1 only).
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  settings: Settings;
  /** `--db` as given. */
  dbFlag?: string;
  /** Ports to try on 127.0.0.1: the receiver's and the OAuth callback's. */
  ports: { port: number; what: string; flag: string }[];
  now?: Date;
}

const RENEW_WITHIN_MS = 7 * 86_400_000;

function nodeCheck(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const ok = major > 20 || (major === 20 && minor >= 18);
  return ok
    ? { check: 'node', status: 'ok', detail: `Node.js ${process.versions.node}` }
    : { check: 'node', status: 'fail', detail: `Node.js ${process.versions.node} is older than 20.18`, fix: 'install Node.js 20.18 or newer (20, 22 and 24 work)' };
}

async function databaseChecks(options: DoctorOptions, now: Date): Promise<Check[]> {
  const file = resolveDbPath(options.dbFlag);
  const source = { flag: '--db', env: 'WEARHOOK_DB', default: 'default' }[dbPathSource(options.dbFlag)];
  if (isPostgresUrl(file)) return postgresChecks(options, file, source, now);
  const checks: Check[] = [];
  const inspection = inspectDatabase(file);
  if (inspection.state === 'missing') {
    const folder = path.dirname(path.resolve(file));
    if (source !== 'default' && !fs.existsSync(folder)) {
      return [{ check: 'database', status: 'fail', detail: `${file} (${source}): its folder does not exist`, fix: `mkdir -p ${folder}, or point ${source} elsewhere` }];
    }
    return [{ check: 'database', status: 'ok', detail: `${file} (${source}) does not exist yet; the first command that needs it creates it (schema ${SCHEMA_VERSION})` }];
  }
  if (inspection.state === 'unreadable') {
    return [{ check: 'database', status: 'fail', detail: `${file} (${source}): ${inspection.error}`, fix: 'point --db or WEARHOOK_DB at a wearhook database or a new file' }];
  }
  if (inspection.state === 'newer') {
    return [{ check: 'database', status: 'fail', detail: `${file}: schema ${inspection.version}, newer than this wearhook (${SCHEMA_VERSION})`, fix: 'upgrade wearhook' }];
  }
  if (inspection.state === 'older') {
    checks.push({ check: 'database', status: 'ok', detail: `${file} (${source}): schema ${inspection.version}, upgraded in place to ${SCHEMA_VERSION} by the next command that writes` });
  } else {
    checks.push(...deliveryChecks(`${file} (${source})`, inspection.version, deliveryStatusCounts(inspection.db!)));
  }
  if (inspection.mode & 0o077) {
    checks.push({ check: 'database mode', status: 'warn', detail: `${file} is mode ${inspection.mode.toString(8)}: others can read participants' health data`, fix: `chmod 600 ${file}` });
  }
  if (inspection.db) {
    try {
      checks.push(...ouraAccountChecks(options, listUsers(inspection.db, 'oura')), ...subscriptionChecks(listStoredSubscriptions(inspection.db), now));
    } finally {
      inspection.db.close();
    }
  }
  return checks;
}

/**
 * A PostgreSQL database, read as it is: connected to without creating or upgrading its schema
 * (a read-only open), its password never shown.
 */
async function postgresChecks(options: DoctorOptions, url: string, source: string, now: Date): Promise<Check[]> {
  const shown = `${redactDatabaseUrl(url)} (${source})`;
  const { openPostgresStore } = await import('../store/postgres/store.js');
  const { SchemaNeedsUpgrade } = await import('../store/postgres/migrate.js');
  let store;
  try {
    store = await openPostgresStore(url, { readonly: true, max: 1 });
  } catch (err) {
    if (err instanceof SchemaNeedsUpgrade) {
      const what = err.version === 0 ? 'no wearhook schema yet; the first command that needs it creates it' : `schema ${err.version}, upgraded in place to ${SCHEMA_VERSION} by the next command that writes`;
      return [{ check: 'database', status: 'ok', detail: `${shown}: ${what}` }];
    }
    return [{ check: 'database', status: 'fail', detail: errorMessage(err), fix: 'point --db or WEARHOOK_DB at a PostgreSQL database wearhook may use (createdb wearhook)' }];
  }
  try {
    const [counts, users, subs] = [await store.read(deliveryStatusCountsOp), await store.read(listUsersOp, 'oura'), await store.read(listStoredSubscriptionsOp)];
    return [...deliveryChecks(shown, SCHEMA_VERSION, counts), ...ouraAccountChecks(options, users), ...subscriptionChecks(subs, now)];
  } finally {
    await store.close();
  }
}

function deliveryChecks(shown: string, version: number, counts: Record<string, number>): Check[] {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const open = (counts.received ?? 0) + (counts.pending ?? 0);
  const checks: Check[] = [{ check: 'database', status: 'ok', detail: `${shown}: schema ${version}, ${total} deliveries${open ? `, ${open} with work still to do` : ''}` }];
  if (counts.failed) {
    checks.push({ check: 'deliveries', status: 'warn', detail: `${counts.failed} deliveries failed`, fix: 'see `wearhook events list --status failed` and `wearhook events show ID`' });
  }
  return checks;
}

function configChecks(settings: Settings): Check[] {
  const dir = configDir();
  if (!fs.existsSync(dir)) return [{ check: 'config', status: 'ok', detail: `${dir} does not exist yet (created by \`wearhook config set\` or \`auth oura\`)` }];
  const checks: Check[] = [];
  try {
    settings.get('oura.apiUrl'); // reads config.json: a corrupt file throws here
    checks.push({ check: 'config', status: 'ok', detail: dir });
  } catch (err) {
    return [{ check: 'config', status: 'fail', detail: errorMessage(err), fix: `repair or move away ${settings.path}` }];
  }
  for (const name of ['config.json', 'credentials.json']) {
    const file = path.join(dir, name);
    try {
      const mode = fs.statSync(file).mode & 0o777;
      if (mode & 0o077) checks.push({ check: `${name} mode`, status: 'warn', detail: `${file} is mode ${mode.toString(8)}: it holds secrets`, fix: `chmod 600 ${file}` });
    } catch {
      // not there: nothing to protect
    }
  }
  return checks;
}

function secretChecks(settings: Settings): Check[] {
  return PROVIDER_NAMES.map((provider): Check => {
    const key = SECRET_SETTING[provider];
    const { env } = SETTINGS[key];
    const value = settings.get(key);
    const check = provider === 'oura' ? 'secret oura (client secret)' : `secret ${provider}`;
    if (!value) {
      return { check, status: 'warn', detail: `not set: ${provider} deliveries are refused (401)`, fix: `export ${env}=... or \`wearhook config set ${key} ...\`` };
    }
    const shown = `${redact(value)} (${settings.source(key) === 'env' ? env : 'config file'})`;
    if (provider !== 'oura' && provider !== 'corsano') {
      try {
        new StandardWebhook(value);
      } catch {
        return { check, status: 'fail', detail: `${shown} is not a Standard Webhooks secret`, fix: `set ${env} to whsec_ followed by base64, as your sender shows it` };
      }
    }
    return { check, status: 'ok', detail: shown };
  });
}

function ouraCredentialCheck(settings: Settings): Check {
  const id = settings.get('oura.clientId');
  const secret = settings.get('oura.clientSecret');
  if (id && secret) return { check: 'oura app', status: 'ok', detail: `client id ${id}, secret ${redact(secret)}` };
  const missing = [!id && 'OURA_CLIENT_ID', !secret && 'OURA_CLIENT_SECRET'].filter(Boolean).join(' and ');
  return {
    check: 'oura app',
    status: 'warn',
    detail: `${missing} not set: no Oura login, subscriptions or webhooks`,
    fix: 'create an application at https://cloud.ouraring.com/oauth/applications, then export OURA_CLIENT_ID=... OURA_CLIENT_SECRET=...',
  };
}

function ouraAccountChecks(options: DoctorOptions, users: readonly UserRow[]): Check[] {
  if (users.length === 0) {
    let wanted = false;
    try {
      wanted = Boolean(options.settings.get('oura.clientId'));
    } catch {
      // a corrupt config file is its own failed check
    }
    return [{ check: 'oura users', status: wanted ? 'warn' : 'ok', detail: 'none authorized', ...(wanted ? { fix: 'wearhook auth oura --label P001' } : {}) }];
  }
  let withTokens: Set<string>;
  try {
    withTokens = new Set(new CredentialStore().list('oura'));
  } catch (err) {
    return [{ check: 'oura users', status: 'fail', detail: `the credential file cannot be read: ${errorMessage(err)}`, fix: `repair or move away ${path.join(configDir(), 'credentials.json')}` }];
  }
  return users.map((u): Check => {
    const who = u.label ? `${u.user_id} (${u.label})` : u.user_id;
    const again = `wearhook auth oura${u.label ? ` --label ${u.label}` : ''}`;
    if (u.needs_reauth) return { check: 'oura user', status: 'fail', detail: `${who}: Oura refused the refresh token${u.last_error ? ` (${u.last_error})` : ''}`, fix: again };
    if (!withTokens.has(u.user_id)) return { check: 'oura user', status: 'fail', detail: `${who}: no tokens in the credential file`, fix: again };
    const expiry = u.token_expires_at ? `, access token until ${formatLocal(u.token_expires_at)} (refreshed when needed)` : '';
    return { check: 'oura user', status: 'ok', detail: `${who}${expiry}` };
  });
}

function subscriptionChecks(subs: readonly SubscriptionRow[], now: Date): Check[] {
  if (subs.length === 0) return [{ check: 'subscriptions', status: 'ok', detail: 'none known (as of the last `wearhook subs list`)' }];
  const expired = subs.filter((s) => s.expiration_time && Date.parse(s.expiration_time) <= now.getTime());
  const soon = subs.filter((s) => s.expiration_time && Date.parse(s.expiration_time) > now.getTime() && Date.parse(s.expiration_time) - now.getTime() < RENEW_WITHIN_MS);
  const next = subs.map((s) => s.expiration_time).filter((t): t is string => !!t).sort()[0];
  const checks: Check[] = [
    { check: 'subscriptions', status: 'ok', detail: `${subs.length} known (as of the last \`wearhook subs list\`)${next ? `, the first expires ${formatLocal(next)}` : ''}` },
  ];
  if (expired.length) {
    checks.push({ check: 'subscriptions', status: 'fail', detail: `${expired.length} expired: Oura sends nothing for ${[...new Set(expired.map((s) => s.data_type))].join(', ')}`, fix: 'wearhook subs renew --all (or subs create again)' });
  }
  if (soon.length) checks.push({ check: 'subscriptions', status: 'warn', detail: `${soon.length} expire within 7 days`, fix: 'wearhook subs renew --expiring-within 7d' });
  return checks;
}

function tunnelChecks(settings: Settings): Check[] {
  const cloudflared = findOnPath('cloudflared');
  let ngrok = false;
  try {
    createRequire(import.meta.url).resolve('@ngrok/ngrok');
    ngrok = true;
  } catch {
    // the optional package is not installed
  }
  const token = Boolean(settings.get('ngrok.authtoken'));
  return [
    { check: 'tunnel localtunnel', status: 'ok', detail: `built in (server ${settings.get('tunnel.localtunnelHost')})` },
    ngrok && token
      ? { check: 'tunnel ngrok', status: 'ok', detail: '@ngrok/ngrok installed, auth token set' }
      : {
          check: 'tunnel ngrok',
          status: 'warn',
          detail: ngrok ? 'no auth token' : 'the optional package @ngrok/ngrok is not installed',
          fix: ngrok ? 'export NGROK_AUTHTOKEN=... (free at https://dashboard.ngrok.com)' : 'npm install @ngrok/ngrok, or use --tunnel localtunnel',
        },
    cloudflared
      ? { check: 'tunnel cloudflared', status: 'ok', detail: cloudflared }
      : { check: 'tunnel cloudflared', status: 'warn', detail: 'cloudflared is not on PATH', fix: 'install cloudflared for --tunnel cloudflared, or use --tunnel localtunnel' },
  ];
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function portChecks(ports: DoctorOptions['ports']): Promise<Check[]> {
  const client = new HttpClient({ timeoutMs: 1_000, maxRetries: 0 });
  return Promise.all(
    ports.map(async ({ port, what, flag }): Promise<Check> => {
      if (await portFree(port)) return { check: `port ${port}`, status: 'ok', detail: `free for ${what}` };
      // A wearhook receiver answers /healthz: the port is taken by what it is meant for.
      try {
        const res = await client.request({ method: 'GET', url: `http://127.0.0.1:${port}/healthz`, retry: 'never' });
        if (res.status === 200 && res.json<{ ok?: boolean }>().ok === true) {
          return { check: `port ${port}`, status: 'ok', detail: 'a wearhook receiver is running there' };
        }
      } catch {
        // not an HTTP server, or not wearhook
      }
      return { check: `port ${port}`, status: 'warn', detail: `in use by another program, so ${what} cannot take it`, fix: `stop that program or use ${flag} N` };
    }),
  );
}

export async function runDoctor(options: DoctorOptions): Promise<Check[]> {
  const now = options.now ?? new Date();
  const config = configChecks(options.settings);
  // With a corrupt config file no setting can be read; that one failure says what to do.
  const settingsReadable = !config.some((c) => c.status === 'fail');
  return [
    nodeCheck(),
    ...config,
    ...(settingsReadable ? [...secretChecks(options.settings), ouraCredentialCheck(options.settings)] : []),
    ...(await databaseChecks(options, now)),
    ...(settingsReadable ? tunnelChecks(options.settings) : []),
    ...(await portChecks(options.ports)),
  ];
}
