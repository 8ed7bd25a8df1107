import { HttpClient, type HttpClientOptions } from '../../net/http-client.js';
import type { Settings } from '../../config/settings.js';

/** Where Oura lives: the API base (data, token, revoke) and the consent page. */
export interface OuraEndpoints {
  /** Base of `/v2/...`, without a trailing slash. */
  apiUrl: string;
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl: string;
}

export function ouraEndpoints(settings: Settings): OuraEndpoints {
  const apiUrl = settings.require('oura.apiUrl', 'The Oura API URL').replace(/\/+$/, '');
  return {
    apiUrl,
    authorizeUrl: settings.require('oura.authorizeUrl', 'The Oura authorize URL'),
    tokenUrl: `${apiUrl}/oauth/token`,
    revokeUrl: `${apiUrl}/oauth/revoke`,
  };
}

/** The Oura application's credentials (token endpoint, webhook subscriptions, signature key). */
export interface OuraAppCredentials {
  clientId: string;
  clientSecret: string;
}

/** Both or a usage error (exit 2) that says how to set the missing one. */
export function ouraAppCredentials(settings: Settings): OuraAppCredentials {
  return {
    clientId: settings.require('oura.clientId', 'The Oura client id'),
    clientSecret: settings.require('oura.clientSecret', 'The Oura client secret'),
  };
}

/** The one network client, as every Oura call uses it (tests inject `sleep` to skip waits). */
export function ouraHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new HttpClient(options);
}
