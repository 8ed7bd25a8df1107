import { isProviderName, PROVIDER_NAMES } from '../providers/types.js';
import { UsageError } from '../errors.js';

/** Decides which deliveries `listen` shows and forwards (all are stored regardless). */
export type EventFilter = (provider: string, eventType: string | null) => boolean;

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * `--events` as a comma-separated list of patterns: `oura:sleep.*`, `vital:daily.data.*`,
 * a bare provider (`corsano`), or a bare event glob matched for every provider (`*.created`).
 * Oura events are named `<data_type>.<event_type>` (e.g. `sleep.create`).
 */
export function parseEventFilter(spec: string | undefined): EventFilter {
  if (spec === undefined) return () => true;
  const patterns = spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((pattern) => {
      const colon = pattern.indexOf(':');
      const provider = colon >= 0 ? pattern.slice(0, colon) : isProviderName(pattern) ? pattern : '*';
      const event = colon >= 0 ? pattern.slice(colon + 1) || '*' : isProviderName(pattern) ? '*' : pattern;
      if (provider !== '*' && !isProviderName(provider)) {
        throw new UsageError(`--events: unknown provider "${provider}" in "${pattern}"; use one of ${PROVIDER_NAMES.join(', ')}.`);
      }
      return { provider, event: globToRegExp(event) };
    });
  if (patterns.length === 0) throw new UsageError('--events needs at least one pattern, e.g. oura:sleep.*');
  return (provider, eventType) =>
    patterns.some((p) => (p.provider === '*' || p.provider === provider) && p.event.test(eventType ?? ''));
}
