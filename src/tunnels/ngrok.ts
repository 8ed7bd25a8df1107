import { RuntimeError, UsageError } from '../errors.js';
import { dialHost, trimUrl, type LocalTarget, type TunnelProvider, type TunnelSession } from './tunnel.js';

/** The part of @ngrok/ngrok we use, declared here so the build never needs the optional package. */
export interface NgrokSdk {
  forward(config: { addr: string; authtoken: string }): Promise<{ url(): string | null; close(): Promise<void> }>;
}

const NGROK_PACKAGE = '@ngrok/ngrok';

/** ngrok through its Node SDK, an optional dependency loaded only when asked for. */
export class NgrokProvider implements TunnelProvider {
  readonly description = 'ngrok';
  readonly reconnectable = true;

  constructor(
    private readonly authtoken: string | undefined,
    private readonly load: () => Promise<NgrokSdk> = () => import(NGROK_PACKAGE) as Promise<NgrokSdk>,
  ) {}

  /** Fail before anything starts when ngrok cannot work here. */
  async check(): Promise<{ sdk: NgrokSdk; authtoken: string }> {
    if (!this.authtoken) {
      throw new UsageError(
        '--tunnel ngrok needs an ngrok auth token: export NGROK_AUTHTOKEN=... or run `wearhook config set ngrok.authtoken ...` (free at https://dashboard.ngrok.com).',
      );
    }
    try {
      return { sdk: await this.load(), authtoken: this.authtoken };
    } catch {
      throw new UsageError(
        `--tunnel ngrok needs the optional package ${NGROK_PACKAGE}, which cannot be loaded here: run \`npm install ${NGROK_PACKAGE}\`, or use --tunnel localtunnel.`,
      );
    }
  }

  async open(target: LocalTarget): Promise<TunnelSession> {
    const { sdk, authtoken } = await this.check();
    const host = dialHost(target.host);
    const listener = await sdk.forward({ addr: `${host.includes(':') ? `[${host}]` : host}:${target.port}`, authtoken });
    const url = listener.url();
    if (!url) {
      await listener.close();
      throw new RuntimeError('ngrok opened a listener without a URL.');
    }
    // The SDK reconnects its own session; the supervisor's probes notice when that is not enough.
    return { publicUrl: trimUrl(url), onLost: () => {}, close: () => listener.close() };
  }
}
