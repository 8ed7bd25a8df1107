/* Dependency-free (command files import it without slowing `--help`); src/cli/output.ts re-exports it. */

/**
 * Control characters shown as escapes, so that text from the wire (an event type, a user id, an
 * error description, a header, a body) can never move the cursor, recolour, retitle or clear a
 * terminal: C0 (ESC, BEL, BS, CR, ...), DEL, C1 (0x80-0x9f, where 0x9b is a one-byte CSI), and the
 * bidirectional overrides and isolates that reorder how a line reads. `\n` is kept only with
 * `keepNewlines` (a multi-line body); everything else becomes `\xHH` / `\uHHHH` (`\n`, `\r`, `\t`).
 * Apply it to every field of human-readable output that did not come from wearhook itself.
 */
export function safeText(value: string, options: { keepNewlines?: boolean } = {}): string {
  return value.replace(UNSAFE, (c) => {
    if (c === '\n') return options.keepNewlines ? c : '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** safeText for a value that may be absent: `-` then. */
export function safeField(value: string | null | undefined): string {
  return value === null || value === undefined ? '-' : safeText(value);
}
