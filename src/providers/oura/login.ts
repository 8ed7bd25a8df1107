import open from 'open';
import { RuntimeError, errorMessage } from '../../errors.js';
import { CredentialStore } from '../../credentials/token-store.js';
import { getUserOp, upsertUserOp } from '../../store/users.js';
import { accountOwnerOp, accountsOfOp } from '../../store/participants.js';
import { wakeDeliveriesOfOp } from '../../store/deliveries.js';
import type { Op } from '../../store/sql.js';
import type { Store } from '../../store/store.js';
import { FixedBearer, OuraApi } from './api.js';
import { ouraAppCredentials, ouraEndpoints, ouraHttpClient } from './http.js';
import { authorizeUrl, expiresAt, listenForCallback, newPkce, newState, requestToken } from './oauth.js';
import { lockRefreshOp, storeOf, type OuraDeps } from './session.js';

export interface LoginOptions {
  port: number;
  scopes: string;
  label?: string;
  timeoutSeconds: number;
  openBrowser: boolean;
  /** Instructions for the person at the terminal (stderr). */
  log: (line: string) => void;
}

export interface LoginResult {
  provider: 'oura';
  user_id: string;
  email: string | null;
  label: string | null;
  scopes: string[];
  token_expires_at: string;
}

const APPLICATIONS_PAGE = 'https://cloud.ouraring.com/oauth/applications';

/**
 * `wearhook auth oura`: send the user to Oura's consent page, take the code on the loopback
 * redirect, exchange it, learn the user id from personal_info, and store tokens (the credential
 * file) and user (the store: SQLite or PostgreSQL).
 */
export async function loginOuraUser(deps: OuraDeps, options: LoginOptions): Promise<LoginResult> {
  const app = ouraAppCredentials(deps.settings);
  const endpoints = ouraEndpoints(deps.settings);
  const http = deps.http ?? ouraHttpClient();
  const credentials = deps.credentials ?? new CredentialStore();

  // A credential file that cannot be read now cannot be saved to later: say so before the
  // user consents, not after, when the new tokens would be lost.
  credentials.list('oura');

  const state = newState();
  const pkce = newPkce();
  const loopback = await listenForCallback({ port: options.port, state, timeoutMs: options.timeoutSeconds * 1000 });
  try {
    const url = authorizeUrl(endpoints, { clientId: app.clientId, redirectUri: loopback.redirectUri, state, scopes: options.scopes, codeChallenge: pkce.challenge });
    options.log(`Redirect URI: ${loopback.redirectUri}`);
    options.log(`  It must be listed exactly under "Redirect URIs" of your application at ${APPLICATIONS_PAGE}.`);
    options.log('Open this URL to authorize wearhook:');
    options.log(`  ${url}`);
    if (options.openBrowser) {
      await open(url).catch((err: unknown) => options.log(`(could not open a browser: ${errorMessage(err)}; open the URL above yourself)`));
    }
    options.log(`Waiting up to ${options.timeoutSeconds} s for the answer on ${loopback.redirectUri} ...`);

    const { code, scope } = await loopback.callback;
    try {
      const result = await completeOuraAuthorization(
        { ...deps, http, credentials },
        { code, codeVerifier: pkce.verifier, redirectUri: loopback.redirectUri, grantedScope: scope, requestedScopes: options.scopes, label: options.label ?? null, moveAccount: true },
      );
      loopback.finish({
        ok: true,
        title: 'wearhook is authorized',
        message: `Oura user ${result.label ?? result.email ?? result.user_id} is connected to wearhook.`,
      });
      return result;
    } catch (err) {
      loopback.finish({ ok: false, title: 'Login failed', message: errorMessage(err) });
      throw err;
    }
  } finally {
    await loopback.close();
  }
}

/** The account or label given is held by someone else: nothing was stored. */
export class OuraLabelConflictError extends RuntimeError {}

export interface AuthorizationGrant {
  /** The code from Oura's redirect, and the redirect URI it was issued for. */
  code: string;
  redirectUri: string;
  /** The PKCE verifier whose S256 challenge went with the authorize request (oauth.ts newPkce), if one did. */
  codeVerifier?: string;
  /** The scopes the redirect reported (the user may untick some), if it did. */
  grantedScope: string | null;
  requestedScopes: string;
  /** The participant the account joins; null keeps the account's current participant. */
  label: string | null;
  /**
   * Whether an account that belongs to another participant may move to `label` (`auth oura
   * --label` on the researcher's machine: yes; an enrolment link a participant follows: no).
   */
  moveAccount: boolean;
}

/**
 * The end of every Oura authorization (the loopback login and remote enrolment): exchange the
 * code, learn the user id from personal_info, check the participant, store the tokens under
 * the user's refresh lock, then the user and its participant link.
 */
export async function completeOuraAuthorization(deps: OuraDeps, grant: AuthorizationGrant): Promise<LoginResult> {
  const app = ouraAppCredentials(deps.settings);
  const endpoints = ouraEndpoints(deps.settings);
  const http = deps.http ?? ouraHttpClient();
  const credentials = deps.credentials ?? new CredentialStore();
  const store = storeOf(deps);
  const now = deps.now ?? (() => new Date());

  const tokens = await requestToken(http, endpoints, app, {
    grant_type: 'authorization_code',
    code: grant.code,
    redirect_uri: grant.redirectUri,
    ...(grant.codeVerifier ? { code_verifier: grant.codeVerifier } : {}),
  });
  const info = await new OuraApi(http, endpoints.apiUrl, new FixedBearer(tokens.access_token)).personalInfo();
  const label = grant.label;
  if (label) {
    // One Oura account per participant this way; a second one (a new account) is linked on purpose with `participants link`.
    const holder = (await store.read(accountsOfOp, [label])).find((a) => a.provider === 'oura' && a.user_id !== info.id);
    if (holder) {
      throw new OuraLabelConflictError(
        `The label ${label} already belongs to Oura user ${holder.user_id}; choose another label, or if this is the same person's new account run \`wearhook participants link ${label} oura ${info.id}\` and authorize again.`,
      );
    }
    const owner = await store.read(accountOwnerOp, 'oura', info.id);
    if (!grant.moveAccount && owner !== undefined && owner !== label) {
      throw new OuraLabelConflictError(`Oura user ${info.id} is already enrolled as participant ${owner}, not ${label}; nothing was changed.`);
    }
  }
  const granted = (grant.grantedScope ?? tokens.scope ?? grant.requestedScopes).split(/[\s+]+/).filter(Boolean);
  const obtained = now();
  const tokenExpiresAt = expiresAt(tokens, obtained);
  const user = { provider: 'oura', userId: info.id, label, scopes: granted.join(' '), tokenExpiresAt };
  // The tokens go to the credential file (never the database), then the user to the store.
  const save = async (tx: Pick<Store, 'run'>) => {
    await credentials.save('oura', info.id, {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      expires_at: tokenExpiresAt,
      scopes: granted,
      obtained_at: obtained.toISOString(),
    });
    return tx.run(recordAuthorizationOp, user, obtained);
  };
  // The refresh lock too: a refresh of the previous grant must not overwrite this pair. On
  // PostgreSQL that is also the user's advisory lock (session.ts), which reaches the receivers
  // of other machines; SQLite's writer lock is not held across the file's save.
  const storedLabel = await credentials.withUserLock('oura', info.id, () =>
    store.dialect === 'postgres'
      ? store.transaction(async (tx) => {
          await tx.run(lockRefreshOp, info.id);
          return save(tx);
        })
      : save(store),
  );
  return {
    provider: 'oura',
    user_id: info.id,
    email: info.email ?? null,
    label: storedLabel,
    scopes: granted,
    token_expires_at: tokenExpiresAt,
  };
}

/**
 * The user of a new grant: its row (and participant link), the deliveries that waited for
 * its authorization made due, and the label it now has (authorizing again without a label
 * keeps the participant the account already belongs to).
 */
function* recordAuthorizationOp(user: { provider: string; userId: string; label: string | null; scopes: string; tokenExpiresAt: string }, now: Date): Op<string | null> {
  yield* upsertUserOp(user, now);
  yield* wakeDeliveriesOfOp(user.provider, user.userId, now);
  return (yield* getUserOp(user.provider, user.userId))?.label ?? null;
}
