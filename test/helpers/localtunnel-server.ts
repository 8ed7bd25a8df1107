import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A minimal server speaking the localtunnel protocol, all on 127.0.0.1:
 * `GET /?new` or `GET /<id>` answers `{id, port, max_conn_count, url}`; the client then opens
 * raw TCP sockets to `port`, and each public request is written into one of them (bodies
 * untouched) for the tunnel it is addressed to. Each tunnel gets its own public listener, so the
 * public URL is a plain `http://127.0.0.1:PORT` that needs no DNS (the real server routes by
 * the subdomain in Host; the effect for the client is the same).
 */

interface TunnelClient {
  id: string;
  pool: net.Server;
  publicSide: http.Server;
  publicPort: number;
  agent: TunnelAgent;
}

export interface LocaltunnelServerOptions {
  /** Control port (restart on the same one to simulate an outage). */
  port?: number;
  /** Public ports to give tunnel ids again, so that a client asking for its old id gets its old URL. */
  publicPorts?: ReadonlyMap<string, number>;
  maxConnections?: number;
}

const NO_SOCKET_TIMEOUT_MS = 2000;

/**
 * As in the real server: an http.Agent whose "connections" are the sockets the client opened
 * to us, so public requests are written into them and keep-alive reuses them.
 */
class TunnelAgent extends http.Agent {
  private idle: net.Socket[] = [];
  private waiting: Array<(err: Error | null, socket: net.Socket) => void> = [];
  readonly live = new Set<net.Socket>();

  constructor(private readonly maxConnections: number) {
    super({ keepAlive: true, maxSockets: maxConnections });
  }

  /** A socket the client opened to the pool port. */
  accept(socket: net.Socket): void {
    if (this.live.size >= this.maxConnections) {
      socket.destroy();
      return;
    }
    this.live.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.live.delete(socket);
      this.idle = this.idle.filter((s) => s !== socket);
    });
    const waiter = this.waiting.shift();
    if (waiter) waiter(null, socket);
    else this.idle.push(socket);
  }

  override createConnection(_options: unknown, callback?: (err: Error | null, socket: Duplex) => void): undefined {
    const socket = this.idle.shift();
    if (socket) {
      callback?.(null, socket);
      return undefined;
    }
    const timer = setTimeout(() => {
      this.waiting = this.waiting.filter((w) => w !== waiter);
      callback?.(new Error('no tunnel socket available'), undefined as unknown as Duplex);
    }, NO_SOCKET_TIMEOUT_MS);
    const waiter = (err: Error | null, s: net.Socket) => {
      clearTimeout(timer);
      callback?.(err, s);
    };
    this.waiting.push(waiter);
    return undefined;
  }
}

export class LocaltunnelTestServer {
  readonly clients = new Map<string, TunnelClient>();
  /** Tunnel id -> public port, to hand to a restarted server. */
  readonly publicPorts = new Map<string, number>();
  private readonly everything = new Set<net.Socket>();
  private control!: http.Server;
  port = 0;

  private constructor(private readonly options: LocaltunnelServerOptions) {}

  static async start(options: LocaltunnelServerOptions = {}): Promise<LocaltunnelTestServer> {
    const server = new LocaltunnelTestServer(options);
    await server.listen();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  publicUrl(id: string): string {
    return `http://127.0.0.1:${this.clients.get(id)!.publicPort}`;
  }

  private get maxConnections(): number {
    return this.options.maxConnections ?? 4;
  }

  private async listen(): Promise<void> {
    this.control = http.createServer((req, res) => {
      void this.handleControl(req, res).catch((err: Error) => res.writeHead(500).end(JSON.stringify({ message: err.message })));
    });
    this.control.on('connection', (s) => this.track(s));
    await new Promise<void>((resolve, reject) => {
      this.control.once('error', reject);
      this.control.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    this.port = (this.control.address() as AddressInfo).port;
  }

  private async handleControl(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    let id: string;
    if (url.pathname === '/' && url.searchParams.has('new')) {
      id = randomBytes(4).toString('hex');
    } else if (/^\/[a-z0-9-]{4,63}$/.test(url.pathname)) {
      id = url.pathname.slice(1);
      if (this.clients.has(id)) id = randomBytes(4).toString('hex');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'not found' }));
      return;
    }
    const client = await this.createClient(id);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ id, port: (client.pool.address() as AddressInfo).port, max_conn_count: this.maxConnections, url: this.publicUrl(id) }),
    );
  }

  private async createClient(id: string): Promise<TunnelClient> {
    const agent = new TunnelAgent(this.maxConnections);
    const pool = net.createServer((socket) => {
      this.track(socket);
      agent.accept(socket);
    });
    // Public requests go into the tunnel as the real server sends them: through an http client.
    const publicSide = http.createServer((req, res) => {
      const toClient = http.request({ agent, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      toClient.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('tunnel unavailable');
        else res.destroy();
      });
      req.pipe(toClient);
    });
    publicSide.on('connection', (s) => this.track(s));
    await new Promise<void>((resolve) => pool.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve, reject) => {
      publicSide.once('error', reject);
      publicSide.listen(this.options.publicPorts?.get(id) ?? 0, '127.0.0.1', resolve);
    });
    const client: TunnelClient = { id, pool, publicSide, publicPort: (publicSide.address() as AddressInfo).port, agent };
    this.publicPorts.set(id, client.publicPort);
    this.clients.set(id, client);
    return client;
  }

  private track(socket: net.Socket): void {
    this.everything.add(socket);
    socket.once('close', () => this.everything.delete(socket));
  }

  /** Stop at once, like a crashed server: every socket is cut. */
  async close(): Promise<void> {
    for (const socket of this.everything) socket.destroy();
    for (const client of this.clients.values()) client.agent.destroy();
    const servers = [this.control, ...[...this.clients.values()].flatMap((c) => [c.pool, c.publicSide])];
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.clients.clear();
  }
}
