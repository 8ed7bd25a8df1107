import { formatOffset } from './instant.js';

/**
 * Times a person reads (`events list|show|tail`, replay lines, `doctor`) are all written in
 * one zone: the machine's local zone, with the offset shown, e.g. `2026-03-02 09:15:07+01:00`.
 * Machine output (`--json`) keeps the stored UTC instants.
 */
export function formatLocal(instant: string | number | Date): string {
  const date = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(date.getTime())) return String(instant);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}${formatOffset(-date.getTimezoneOffset())}`
  );
}

/** The local zone's offset at an instant, e.g. `+01:00`. */
export function localOffset(instant: string | number | Date): string {
  const date = instant instanceof Date ? instant : new Date(instant);
  return formatOffset(-date.getTimezoneOffset());
}

/** The local calendar date of an instant, `YYYY-MM-DD`. */
export function localDate(instant: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${instant.getFullYear()}-${two(instant.getMonth() + 1)}-${two(instant.getDate())}`;
}
