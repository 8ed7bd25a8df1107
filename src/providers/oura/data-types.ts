/**
 * The webhook data types and event types Oura documents (API 1.27). Newer Oura versions add
 * data types (e.g. meal), so an unknown one is passed on with a warning, never refused.
 * There is no `heartrate` webhook.
 */
export const OURA_WEBHOOK_DATA_TYPES = [
  'tag',
  'enhanced_tag',
  'workout',
  'session',
  'sleep',
  'daily_sleep',
  'daily_readiness',
  'daily_activity',
  'daily_spo2',
  'sleep_time',
  'rest_mode_period',
  'ring_configuration',
  'daily_stress',
  'daily_cardiovascular_age',
  'daily_resilience',
  'vo2_max',
] as const;

export const OURA_WEBHOOK_EVENT_TYPES = ['create', 'update', 'delete'] as const;

export type OuraWebhookEventType = (typeof OURA_WEBHOOK_EVENT_TYPES)[number];

export function isKnownWebhookDataType(dataType: string): boolean {
  return (OURA_WEBHOOK_DATA_TYPES as readonly string[]).includes(dataType);
}
