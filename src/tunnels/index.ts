import type { HttpClient } from '../net/http-client.js';
import { UsageError } from '../errors.js';
import { CloudflaredProvider } from './cloudflared.js';
import { LocaltunnelProvider } from './localtunnel.js';
import { NgrokProvider } from './ngrok.js';
import { PublicUrlProvider } from './public-url.js';
import type { TunnelKind, TunnelProvider } from './tunnel.js';

export interface TunnelChoice {
  kind: TunnelKind;
  publicUrl?: string;
  localtunnelHost: string;
  ngrokAuthtoken?: string;
  http: HttpClient;
}

/**
 * The provider for `--tunnel` / `--public-url`, checked before anything starts (a missing
 * program or token is a usage error with its fix); undefined when the receiver stays local.
 */
export async function chooseTunnel(choice: TunnelChoice): Promise<TunnelProvider | undefined> {
  if (choice.publicUrl && choice.kind !== 'none') {
    throw new UsageError(`--public-url and --tunnel ${choice.kind} both give a public URL: use one of them.`);
  }
  if (choice.publicUrl) return new PublicUrlProvider(choice.publicUrl);
  switch (choice.kind) {
    case 'none':
      return undefined;
    case 'localtunnel':
      return new LocaltunnelProvider(choice.localtunnelHost, choice.http);
    case 'ngrok': {
      const provider = new NgrokProvider(choice.ngrokAuthtoken);
      await provider.check();
      return provider;
    }
    case 'cloudflared': {
      const provider = new CloudflaredProvider();
      provider.check();
      return provider;
    }
  }
}
