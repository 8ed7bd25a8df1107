import { isValidDay } from '../cli/parse.js';

/** Calendar days (YYYY-MM-DD) as the console's ranges use them: plain dates, no zone involved. */

export function isDay(value: string | null | undefined): value is string {
  return typeof value === 'string' && isValidDay(value);
}

export { addDays, daysBetween } from '../util/days.js';
