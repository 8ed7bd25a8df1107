/**
 * `--to http://127.0.0.1:8787` (no path) means that receiver's route for the provider,
 * `/<provider>`, as `trigger` and `events replay` send it; a URL with a path is used as given.
 */
export function providerRouteUrl(to: string, provider: string): string {
  const url = new URL(to);
  if (url.pathname === '/' || url.pathname === '') url.pathname = `/${provider}`;
  return url.toString();
}
