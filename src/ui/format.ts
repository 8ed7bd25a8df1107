import { formatLocal } from '../time/display.js';

/**
 * How the console writes times and durations. Delivery times are instants (stored in UTC) shown
 * in this machine's zone with the offset written out, like the rest of wearhook's human output.
 */

/** `2026-11-01 14:03:22+09:00`: the one way wearhook writes a time for people (src/time/display.ts). */
export function localTime(iso: string | null | undefined): string {
  return iso ? formatLocal(iso) : '';
}

/** `42 ms`, `1.3 s`, `2 min 5 s`, `3 h 10 min` */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function between(fromIso: string | null | undefined, toIso: string | null | undefined): number | null {
  if (!fromIso || !toIso) return null;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(ms) ? ms : null;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
