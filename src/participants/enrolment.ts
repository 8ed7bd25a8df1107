import { createHash, createHmac, randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Settings } from '../config/settings.js';
import type { HttpClient } from '../net/http-client.js';
import type { CredentialStore } from '../credentials/token-store.js';
import type { ReceiverRoute, RouteCall } from '../receiver/server.js';
import { UsageError, errorMessage } from '../errors.js';
import {
  beginConsentOp,
  claimInviteOp,
  completeInviteOp,
  forgetPublicUrlOp,
  insertInviteOp,
  inviteByStateOp,
  inviteByTokenOp,
  publicUrlsOp,
  releaseInviteOp,
  type InviteRow,
} from '../store/enrolment.js';
import { insertParticipantOp } from '../store/participants.js';
import type { Op } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { ouraAppCredentials, ouraEndpoints } from '../providers/oura/http.js';
import { DEFAULT_SCOPES, authorizeUrl, newState, pkceOf, sendPage } from '../providers/oura/oauth.js';
import { OuraLabelConflictError, completeOuraAuthorization } from '../providers/oura/login.js';

/**
 * Remote enrolment: a participant at home follows a one-use link on the public URL of a
 * running `listen`, consents on Oura's page, and Oura sends them back to that `listen`, which
 * stores the tokens and links the Oura account to the participant. The link's token is a
 * secret: only its SHA-256 is stored, it works once, and it expires.
 */

export const DEFAULT_INVITE_TTL_MS = 7 * 86_400_000;
/** How long a consent may take between the link and Oura's answer (Oura's code itself lives 10 minutes). */
const CONSENT_TTL_MS = 60 * 60_000;
export const ENROL_PREFIX = '/enroll/';
export const CALLBACK_PATH = '/oauth/callback';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface Invite {
  label: string;
  url: string;
  expires_at: string;
  /** The participant did not exist and was created for the invite. */
  created_participant: boolean;
  /** What Oura sends the participant back to: registered on the Oura application. */
  redirect_uri: string;
}

/**
 * A new one-use link for `label` (created as a participant when new) on `publicUrl`, or on
 * the public URL of the `listen` serving this database; with neither, a usage error that says
 * how to get one.
 */
export function* createInviteOp(options: { label: string; publicUrl?: string; ttlMs?: number; now?: Date }): Op<Invite> {
  const now = options.now ?? new Date();
  const base = (options.publicUrl ?? (yield* runningPublicUrlOp()))?.replace(/\/+$/, '');
  if (!base) {
    throw new UsageError(
      'No public URL to put the link on: no `wearhook listen` with a public side is running on this database. Start one (`wearhook listen --public-url https://your.domain` or `--tunnel cloudflared`), or pass --public-url URL.',
    );
  }
  const created = yield* insertParticipantOp(options.label, {}, now);
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + (options.ttlMs ?? DEFAULT_INVITE_TTL_MS));
  yield* insertInviteOp({ tokenSha256: sha256(token), label: options.label, createdAt: now, expiresAt });
  return {
    label: options.label,
    url: `${base}${ENROL_PREFIX}${token}`,
    expires_at: expiresAt.toISOString(),
    created_participant: created,
    redirect_uri: `${base}${CALLBACK_PATH}`,
  };
}

/**
 * The public URL of a `listen` serving this database now. A run on this machine whose process
 * is gone (killed before it could clean up) no longer counts, and its record is dropped.
 */
export function* runningPublicUrlOp(): Op<string | undefined> {
  for (const row of yield* publicUrlsOp()) {
    if (row.host === os.hostname() && !processAlive(row.pid)) {
      yield* forgetPublicUrlOp(row.id);
      continue;
    }
    return row.public_url;
  }
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type EnrolmentEvent =
  | { type: 'enrolment'; status: 'consent'; label: string }
  | { type: 'enrolment'; status: 'enrolled'; label: string; user_id: string }
  | { type: 'enrolment'; status: 'refused' | 'failed'; label: string | null; reason: string };

export interface EnrolmentDeps {
  /** The store of the `listen` run (SQLite or PostgreSQL): invites, users, participants. */
  store: Store;
  settings: Settings;
  /** The run's public URL now (it changes when a tunnel comes back elsewhere). */
  publicUrl: () => string | undefined;
  http?: HttpClient;
  credentials?: CredentialStore;
  scopes?: string;
  now?: () => Date;
  onEvent?: (event: EnrolmentEvent) => void;
}

type Problem = { status: number; title: string; message: string };

/** Why an invite cannot be used now, or undefined when it can. */
function inviteProblem(invite: InviteRow | undefined, now: Date): Problem | undefined {
  if (!invite) return { status: 404, title: 'This link does not work', message: 'This enrolment link is not valid. Check that you opened the whole link, or ask the study team for a new one.' };
  if (invite.used_at) return { status: 403, title: 'This link was already used', message: 'This enrolment link has already been used. If you need to connect your ring again, ask the study team for a new link.' };
  if (Date.parse(invite.expires_at) <= now.getTime()) return { status: 403, title: 'This link has expired', message: 'This enrolment link has expired. Ask the study team for a new one.' };
  return undefined;
}

/**
 * The PKCE verifier of a consent, derived from its state with the Oura application's client
 * secret rather than kept in memory: the callback may reach another receiver of the database
 * than the one that served the link (behind a load balancer), or this one after a restart, and
 * every one of them holds the secret (the code exchange needs it) and computes the same
 * verifier again. Without the secret nobody can, and no secret is written to the database.
 */
function consentPkce(clientSecret: string, state: string): { verifier: string; challenge: string } {
  return pkceOf(createHmac('sha256', clientSecret).update(`wearhook enrolment pkce\0${state}`).digest('base64url'));
}

/** The receiver's routes of remote enrolment: `GET /enroll/<token>` and `GET /oauth/callback`. */
export function enrolmentRoutes(deps: EnrolmentDeps): ReceiverRoute[] {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  const emit = (event: EnrolmentEvent) => deps.onEvent?.(event);
  const page = (call: RouteCall, status: number, title: string, message: string) =>
    sendPage(call.res, status, title, message, status === 200 ? 'You can close this page.' : '');
  const onlyGet = (call: RouteCall): boolean => {
    if (call.method === 'GET') return true;
    call.refuse(405, `use GET ${call.path}`, { allow: 'GET' });
    return false;
  };

  const enrol = async (call: RouteCall): Promise<void> => {
    if (!onlyGet(call)) return;
    const token = call.path.slice(ENROL_PREFIX.length);
    const tokenHash = sha256(token);
    const at = now();
    const invite = token ? await store.read(inviteByTokenOp, tokenHash) : undefined;
    const problem = inviteProblem(invite, at);
    if (problem || !invite) {
      emit({ type: 'enrolment', status: 'refused', label: invite?.label ?? null, reason: problem!.title.toLowerCase() });
      return page(call, problem!.status, problem!.title, problem!.message);
    }
    const publicUrl = deps.publicUrl();
    let url: string;
    try {
      if (!publicUrl) throw new Error('this receiver has no public URL');
      const app = ouraAppCredentials(deps.settings);
      const redirectUri = `${publicUrl.replace(/\/+$/, '')}${CALLBACK_PATH}`;
      const state = newState();
      // The state binds Oura's answer to this invite: only its hash is kept.
      await store.run(beginConsentOp, tokenHash, { stateSha256: sha256(state), stateExpiresAt: new Date(at.getTime() + CONSENT_TTL_MS), redirectUri });
      const pkce = consentPkce(app.clientSecret, state);
      url = authorizeUrl(ouraEndpoints(deps.settings), { clientId: app.clientId, redirectUri, state, scopes: deps.scopes ?? DEFAULT_SCOPES, codeChallenge: pkce.challenge });
    } catch (err) {
      emit({ type: 'enrolment', status: 'failed', label: invite.label, reason: errorMessage(err) });
      return page(call, 503, 'Enrolment is not available right now', 'The study\'s connection to Oura is not set up yet. Please tell the study team; your link stays valid.');
    }
    emit({ type: 'enrolment', status: 'consent', label: invite.label });
    call.res.writeHead(302, { location: url, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': '0' }).end();
  };

  const callback = async (call: RouteCall): Promise<void> => {
    if (!onlyGet(call)) return;
    const state = call.query.get('state') ?? '';
    const stateHash = sha256(state);
    const at = now();
    const invite = state ? await store.read(inviteByStateOp, stateHash) : undefined;
    const problem =
      invite && invite.state_expires_at !== null && Date.parse(invite.state_expires_at) <= at.getTime()
        ? { status: 403, title: 'This sign-in took too long', message: 'Please open your enrolment link again.' }
        : inviteProblem(invite, at);
    if (!invite || problem) {
      const refusal = invite ? problem! : { status: 400, title: 'This sign-in is not valid', message: 'This answer does not belong to an enrolment in progress. Please open your enrolment link again.' };
      emit({ type: 'enrolment', status: 'refused', label: invite?.label ?? null, reason: refusal.title.toLowerCase() });
      return page(call, refusal.status, refusal.title, refusal.message);
    }
    const error = call.query.get('error');
    const code = call.query.get('code');
    if (error || !code) {
      const declined = error === 'access_denied';
      emit({ type: 'enrolment', status: 'refused', label: invite.label, reason: declined ? 'consent declined' : `Oura answered ${error ?? 'without a code'}` });
      return page(
        call,
        400,
        declined ? 'Access was not allowed' : 'Oura did not complete the sign-in',
        `${declined ? 'You did not allow the study to read your Oura data.' : 'Oura did not complete the sign-in.'} To try again, open your enrolment link again.`,
      );
    }
    // One callback completes an invite: a second one (a reload, a copy, at another receiver) finds it taken.
    if (!(await store.run(claimInviteOp, invite.token_sha256, stateHash, at))) {
      emit({ type: 'enrolment', status: 'refused', label: invite.label, reason: 'already used' });
      return page(call, 403, 'This link was already used', 'This enrolment has already been completed or is being completed.');
    }
    try {
      const codeVerifier = consentPkce(ouraAppCredentials(deps.settings).clientSecret, state).verifier;
      const result = await completeOuraAuthorization(
        { store, settings: deps.settings, http: deps.http, credentials: deps.credentials, now: deps.now },
        { code, codeVerifier, redirectUri: invite.redirect_uri!, grantedScope: call.query.get('scope'), requestedScopes: deps.scopes ?? DEFAULT_SCOPES, label: invite.label, moveAccount: false },
      );
      await store.run(completeInviteOp, invite.token_sha256, result.user_id);
      emit({ type: 'enrolment', status: 'enrolled', label: invite.label, user_id: result.user_id });
      page(call, 200, 'You are enrolled', 'Your Oura ring is now connected to the study. Thank you!');
    } catch (err) {
      await store.run(releaseInviteOp, invite.token_sha256);
      emit({ type: 'enrolment', status: 'failed', label: invite.label, reason: errorMessage(err) });
      const message =
        err instanceof OuraLabelConflictError
          ? 'This Oura account is already connected to the study under another enrolment. Please tell the study team.'
          : 'Something went wrong while connecting your Oura account. Please open your enrolment link again in a few minutes, or tell the study team.';
      page(call, err instanceof OuraLabelConflictError ? 409 : 502, 'Enrolment did not complete', message);
    }
  };

  return [
    { path: ENROL_PREFIX, handle: enrol },
    { path: CALLBACK_PATH, handle: callback },
  ];
}
