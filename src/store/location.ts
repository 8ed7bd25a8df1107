/**
 * Where the store lives: a SQLite file (the default) or a PostgreSQL database named by a
 * `postgres://` URL (CONTRACT, second edition: `--db postgres://USER:PASS@HOST:PORT/DB` and
 * `WEARHOOK_DB`). The password of a URL is a secret: `shown` is what may be printed.
 */
export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly file: string; readonly shown: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly shown: string };

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

export function isPostgresUrl(value: string): boolean {
  return POSTGRES_URL.test(value);
}

export function storeLocation(value: string): StoreLocation {
  if (isPostgresUrl(value)) return { kind: 'postgres', url: value, shown: redactDatabaseUrl(value) };
  return { kind: 'sqlite', file: value, shown: value };
}

/** Query parameters of a PostgreSQL URL that hold secrets. */
const SECRET_PARAMS = new Set(['password', 'sslpassword', 'sslkey']);

/**
 * A database URL as it may be shown: the password (in the userinfo or as `?password=`) as
 * `****`, the rest as given, so that people can tell which server and database are meant.
 * Text that is not a URL is returned unchanged.
 */
export function redactDatabaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/(:\/\/[^:/@\s]*:)[^@/\s]*@/, '$1****@');
  }
  if (url.password) url.password = '****';
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.has(name.toLowerCase())) url.searchParams.set(name, '****');
  }
  return url.toString().replace(/%2A%2A%2A%2A/g, '****');
}
