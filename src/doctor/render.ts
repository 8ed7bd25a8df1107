import type { Output } from '../cli/output.js';
import type { Check } from './checks.js';

/** `ok    database            /home/me/.local/share/wearhook/wearhook.db (default): schema 6, ...`, and the fix below a warning or failure. */
export function printChecks(output: Output, checks: readonly Check[]): void {
  const c = output.color;
  const paint = { ok: c.green, warn: c.yellow, fail: c.red };
  const width = Math.max(...checks.map((check) => check.check.length));
  for (const check of checks) {
    output.result(`${paint[check.status](check.status.padEnd(5))} ${check.check.padEnd(width)}  ${check.detail}`);
    if (check.fix && check.status !== 'ok') output.result(`${' '.repeat(6 + width + 2)}${c.dim('fix:')} ${check.fix}`);
  }
}
