import { RuntimeError, UsageError, errorMessage } from '../../errors.js';
import { CredentialStore } from '../../credentials/token-store.js';
import { deleteUserOp, findUsersByLabelOp, getUserOp, listUsersOp, type UserRow } from '../../store/users.js';
import type { Store } from '../../store/store.js';
import { ouraEndpoints, ouraHttpClient } from './http.js';
import { OuraUserSession, storeOf, type OuraDeps } from './session.js';

/** The authorized Oura users: who they are, whether their grant still works; never their tokens. */

export interface OuraAccount {
  provider: 'oura';
  user_id: string;
  label: string | null;
  scopes: string[];
  /** ok: tokens stored and usable; needs_reauth: run `auth oura` again; no_tokens: the credential file lost them. */
  status: 'ok' | 'needs_reauth' | 'no_tokens';
  token_expires_at: string | null;
  last_error: string | null;
  created_at: string;
}

export async function listOuraAccounts(store: Store, credentials = new CredentialStore()): Promise<OuraAccount[]> {
  const withTokens = new Set(credentials.list('oura'));
  return (await store.read(listUsersOp, 'oura')).map((u) => ({
    provider: 'oura',
    user_id: u.user_id,
    label: u.label,
    scopes: u.scopes ? u.scopes.split(/\s+/).filter(Boolean) : [],
    status: u.needs_reauth ? 'needs_reauth' : withTokens.has(u.user_id) ? 'ok' : 'no_tokens',
    token_expires_at: u.token_expires_at,
    last_error: u.last_error,
    created_at: u.created_at,
  }));
}

export interface UserSelection {
  user?: string;
  label?: string;
  all?: boolean;
}

/**
 * The Oura users a command acts on: `--user ID`, `--label NAME`, or (when `allByDefault`
 * or `--all`) every one. Naming someone unknown, or having nobody, is a run-time failure.
 */
export async function selectOuraUsers(store: Store, selection: UserSelection, allByDefault: boolean): Promise<UserRow[]> {
  const given = [selection.user !== undefined, selection.label !== undefined, selection.all === true].filter(Boolean).length;
  if (given > 1) throw new UsageError('Give only one of --user, --label and --all.');
  if (selection.user !== undefined) {
    const user = await store.read(getUserOp, 'oura', selection.user);
    if (!user) throw new RuntimeError(`No Oura user ${selection.user} is authorized here; see \`wearhook auth list\`.`);
    return [user];
  }
  if (selection.label !== undefined) {
    // A participant may hold more than one Oura account (a replaced ring): all of them.
    const users = await store.read(findUsersByLabelOp, 'oura', selection.label);
    if (users.length === 0) throw new RuntimeError(`No Oura user has the label ${selection.label}; see \`wearhook auth list\`.`);
    return users;
  }
  if (!selection.all && !allByDefault) throw new UsageError('Say whose: --user ID, --label NAME or --all.');
  const users = await store.read(listUsersOp, 'oura');
  if (users.length === 0) throw new RuntimeError('No Oura user is authorized yet; run `wearhook auth oura` first.');
  return users;
}

export interface LogoutResult {
  provider: 'oura';
  user_id: string;
  label: string | null;
  revoked: boolean;
  /** Why the grant could not be revoked at Oura (it was forgotten here anyway). */
  warning: string | null;
}

/**
 * Revoke the user's grant at Oura (refreshing first if the access token has expired, so the
 * revocation reaches a live grant), then forget the tokens and the user. Documents stay.
 */
export async function logoutOuraUser(deps: OuraDeps, user: UserRow): Promise<LogoutResult> {
  const credentials = deps.credentials ?? new CredentialStore();
  const http = deps.http ?? ouraHttpClient();
  let revoked = false;
  let warning: string | null = null;
  if (credentials.get('oura', user.user_id) && !user.needs_reauth) {
    try {
      const token = await new OuraUserSession({ ...deps, http, credentials }, user).token();
      const url = new URL(ouraEndpoints(deps.settings).revokeUrl);
      url.searchParams.set('access_token', token);
      const res = await http.request({ method: 'POST', url, retry: 'idempotent' });
      if (res.status >= 200 && res.status < 300) revoked = true;
      else warning = `Oura answered ${res.status} to the revocation`;
    } catch (err) {
      warning = errorMessage(err);
    }
  } else {
    warning = 'no working tokens to revoke';
  }
  await credentials.withUserLock('oura', user.user_id, () => credentials.remove('oura', user.user_id));
  await storeOf(deps).run(deleteUserOp, 'oura', user.user_id);
  return { provider: 'oura', user_id: user.user_id, label: user.label, revoked, warning };
}
