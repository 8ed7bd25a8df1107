import type { HeaderPairs } from '../store/deliveries.js';

/**
 * Headers that belong to one hop, not to the delivery (RFC 9110 section 7.6.1), and those
 * a new request makes for itself (`host`, `content-length`, `expect`): never passed on.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);

/** The header names a `Connection` header lists are hop-by-hop too. */
function namedInConnection(pairs: HeaderPairs): Set<string> {
  const named = new Set<string>();
  for (const [name, value] of pairs) {
    if (name.toLowerCase() !== 'connection') continue;
    for (const token of value.split(',')) if (token.trim()) named.add(token.trim().toLowerCase());
  }
  return named;
}

/** The end-to-end headers of a stored delivery, in their order, repeats kept. */
export function endToEndHeaders(pairs: HeaderPairs): HeaderPairs {
  const named = namedInConnection(pairs);
  return pairs.filter(([name]) => {
    const key = name.toLowerCase();
    return !HOP_BY_HOP.has(key) && !named.has(key);
  });
}

/** As one object for the HTTP client; a repeated header is joined with ", " (RFC 9110 section 5.3). */
export function headerObject(pairs: HeaderPairs): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}
