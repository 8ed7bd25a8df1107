import { OURA_WEBHOOK_DATA_TYPES } from '../providers/oura/data-types.js';

/** The data types `sync` knows; kept apart from the sync core so that the CLI can describe them without loading it. */

export const DEFAULT_OURA_SYNC_TYPES: readonly string[] = ['sleep', 'daily_sleep', 'daily_readiness', 'daily_activity'];

/** Every collection of Oura API v2 (data types as webhooks name them) plus heart rate. */
export const OURA_SYNC_TYPES: readonly string[] = [...new Set([...DEFAULT_OURA_SYNC_TYPES, 'heartrate', ...OURA_WEBHOOK_DATA_TYPES])];
