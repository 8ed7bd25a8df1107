import type { DocumentInput } from '../../store/documents.js';

/** Oura collections a webhook `data_type` or `sync --type` may name, and their API path segment. */
export const OURA_PATH_BY_TYPE: Record<string, string> = {
  vo2_max: 'vO2_max', // the one data type whose path differs (capital O)
};

export function ouraCollectionPath(dataType: string): string {
  return OURA_PATH_BY_TYPE[dataType] ?? dataType;
}

interface OuraDocumentShape {
  id?: string;
  day?: string;
  bedtime_start?: string;
  bedtime_end?: string;
  end_datetime?: string;
  start_datetime?: string;
  timestamp?: string;
  /** enhanced_tag and rest_mode_period have no `day`: they start on `start_day`. */
  start_day?: string;
  start_time?: string;
  end_time?: string;
}

/**
 * Turn one Oura document (from a webhook fetch or `sync`) into a store row: the document id
 * (user and day for a type without ids),
 * its local day, and the start of the period it covers (orders rows within a day).
 */
export function ouraDocumentInput(dataType: string, userId: string, doc: unknown, source: string): DocumentInput {
  const d = doc as OuraDocumentShape;
  // A type without an id in Oura's schema (daily_cardiovascular_age) is keyed by user and day (CONTRACT).
  const id = d && typeof d === 'object' ? (typeof d.id === 'string' ? d.id : typeof d.day === 'string' ? `${userId}:${d.day}` : null) : null;
  if (id === null) throw new Error(`Oura ${dataType} document has no id`);
  return {
    provider: 'oura',
    type: dataType,
    id,
    userId,
    day: typeof d.day === 'string' ? d.day : typeof d.start_day === 'string' ? d.start_day : null,
    startTime: d.bedtime_start ?? d.start_datetime ?? d.start_time ?? d.timestamp ?? null,
    endTime: d.bedtime_end ?? d.end_datetime ?? d.end_time ?? null,
    data: doc,
    source,
  };
}
