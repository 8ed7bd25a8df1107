import { trimUrl, type TunnelProvider, type TunnelSession } from './tunnel.js';

/** `--public-url`: a tunnel or reverse proxy the user runs; we can watch it but not reopen it. */
export class PublicUrlProvider implements TunnelProvider {
  readonly reconnectable = false;
  private readonly url: string;

  constructor(url: string) {
    this.url = trimUrl(url);
  }

  get description(): string {
    return `your proxy at ${this.url}`;
  }

  async open(): Promise<TunnelSession> {
    const publicUrl = this.url;
    return { publicUrl, onLost: () => {}, close: async () => {} };
  }
}
