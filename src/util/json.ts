/**
 * The one JSON decoder for stored delivery bodies: the receiver checks a body with it before
 * storing, the work decodes the stored bytes with it afterwards, and `events show` displays
 * with it, so all three always agree on what a body means.
 *
 * - Strict UTF-8 (invalid bytes are an error, never replaced).
 * - A leading byte order mark is ignored (RFC 8259 allows a parser to).
 * - Nesting deeper than MAX_JSON_DEPTH is refused before parsing: no provider sends anything
 *   near it, and deep values overflow the stack of every recursive consumer (JSON.stringify, ...).
 */

/** Arrays and objects nested deeper than this are refused. */
export const MAX_JSON_DEPTH = 64;

export class JsonDecodeError extends Error {
  constructor(
    readonly reason: 'utf8' | 'syntax' | 'depth',
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Whether `bytes` nests arrays or objects deeper than `max`. Reads bytes: the bytes of a
 * multi-byte UTF-8 character are never ASCII, so brackets and quotes are found exactly.
 */
export function nestedDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) return true;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return false;
}

/** The value of a JSON body; throws JsonDecodeError when it is not UTF-8, not JSON, or nested too deep. */
export function decodeJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    // The decoder drops a leading BOM (ignoreBOM: false means "do not keep it").
    text = utf8.decode(bytes);
  } catch {
    throw new JsonDecodeError('utf8', 'the body is not valid UTF-8');
  }
  if (nestedDeeperThan(bytes, MAX_JSON_DEPTH)) throw new JsonDecodeError('depth', `the JSON is nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch {
    throw new JsonDecodeError('syntax', 'the body is not valid JSON');
  }
}
