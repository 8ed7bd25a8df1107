/**
 * Plain text tables that fit a terminal: fixed columns keep their full width, flexible ones
 * share what is left (each up to its natural width, the narrowest satisfied first) and are
 * cut with an ellipsis; a flexible column that cannot get its minimum is left out, the
 * lowest priority (the last listed) first.
 */

export interface ColumnSpec {
  header: string;
  /** Fixed columns are never cut. */
  flex?: { min: number };
  /** Pad on the left (numbers). */
  right?: boolean;
}

export const ELLIPSIS = '…';

/** `text` cut to `width` characters, the cut marked by an ellipsis. */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 0) return '';
  return `${text.slice(0, width - 1)}${ELLIPSIS}`;
}

const GAP = 2;

/** The width each column gets (0 = left out), for a table `width` characters wide. */
export function fitWidths(specs: readonly ColumnSpec[], rows: readonly (readonly string[])[], width: number): number[] {
  const natural = specs.map((spec, i) => Math.max(spec.header.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const widths = [...natural];
  const flexible = specs.map((spec, i) => (spec.flex ? i : -1)).filter((i) => i >= 0);
  for (;;) {
    const shown = widths.map((w, i) => (w > 0 || !specs[i]!.flex ? i : -1)).filter((i) => i >= 0);
    const fixed = shown.filter((i) => !specs[i]!.flex).reduce((sum, i) => sum + natural[i]!, 0);
    let left = width - fixed - GAP * (shown.length - 1);
    const open = flexible.filter((i) => widths[i]! > 0);
    const minimum = open.reduce((sum, i) => sum + Math.min(natural[i]!, specs[i]!.flex!.min), 0);
    if (minimum > left && open.length > 0) {
      widths[open[open.length - 1]!] = 0; // cannot fit even cut short: leave the least important out
      continue;
    }
    // Each gets its minimum; what is left goes to those that want more, the most modest first (water-filling).
    for (const i of open) widths[i] = Math.min(natural[i]!, specs[i]!.flex!.min);
    left -= minimum;
    const byWant = [...open].sort((a, b) => natural[a]! - widths[a]! - (natural[b]! - widths[b]!));
    for (let k = 0; k < byWant.length; k++) {
      const i = byWant[k]!;
      const extra = Math.min(natural[i]! - widths[i]!, Math.floor(left / (byWant.length - k)));
      widths[i] = widths[i]! + extra;
      left -= extra;
    }
    return widths;
  }
}

type Paint = (column: number, text: string) => string;

/** One line of a table whose column widths are `widths` (from fitWidths); columns of width 0 are left out. */
export function formatRow(specs: readonly ColumnSpec[], widths: readonly number[], cells: readonly string[], paint: Paint = (_c, text) => text): string {
  const shown = widths.map((w, i) => (w > 0 || !specs[i]!.flex ? i : -1)).filter((i) => i >= 0);
  return shown
    .map((i, k) => {
      const text = truncate(cells[i] ?? '', widths[i]!);
      const last = k === shown.length - 1;
      return paint(i, specs[i]!.right ? text.padStart(widths[i]!) : last ? text : text.padEnd(widths[i]!));
    })
    .join(' '.repeat(GAP))
    .trimEnd();
}

/** The width to fit: the terminal's, else `COLUMNS`, else 80 (pipes and files get 80 too, so output is predictable). */
export function terminalWidth(stream: NodeJS.WriteStream): number {
  if (stream.isTTY && stream.columns) return stream.columns;
  const fromEnv = Number(process.env.COLUMNS);
  return Number.isInteger(fromEnv) && fromEnv >= 20 ? fromEnv : 80;
}

/** Rows of cells as lines of text, each column padded to its widest cell (the plain tables of `auth list`, `participants list`). */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}
