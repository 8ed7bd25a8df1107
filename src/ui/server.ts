import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Settings } from '../config/settings.js';
import { openStore } from '../store/open.js';
import { storeLocation } from '../store/location.js';
import { getDeliveryOp } from '../store/deliveries.js';
import { outboxStampOp } from '../store/outbox.js';
import { searchDeliveriesOp, type DeliverySearch } from '../store/console.js';
import { buildProviders, providerConfigFromSettings } from '../providers/registry.js';
import { RuntimeError, UsageError, errorMessage } from '../errors.js';
import { consolePath, newAccessToken, sameOriginJson } from './access.js';
import type { ConsoleContext } from './context.js';
import { deliveriesPage, deliveryLive, deliveryPage, deliveryRow, rejectedSection, searchFrom } from './deliveries.js';
import { escapeHtml } from './html.js';
import type { LiveFeed } from './live.js';
import { replayFromConsole, type ReplayMode } from './replay.js';
import { CONSOLE_CSS } from './style.js';
import { subscriptionsPage, tunnelSection } from './subscriptions.js';
import { participantPage } from './participant.js';
import { consoleParticipant, participantsReportPage } from './participants.js';
import { DeliveryWatcher } from './watch.js';

/**
 * The local web console (`wearhook ui`, `listen --ui`): server-rendered pages, one script, and
 * server-sent events for what changes. 127.0.0.1 only, on a port of its own, behind the access
 * checks of access.ts.
 */

export interface ConsoleOptions {
  /** A SQLite file or a postgres:// URL (`--db`). */
  dbPath: string;
  settings: Settings;
  /** Exactly this port (0: any free one); by default 4040, or the next free one up to 4049, or any. */
  port?: number;
  /** Inside `listen --ui`: the receiver's live facts, and its port, which the console never takes. */
  live?: LiveFeed;
  receiverPort?: number;
  /** How often the database is checked for changes made by other processes (ms; SQLite 200, PostgreSQL 1000 by default). */
  pollMs?: number;
}

export interface ConsoleServer {
  /** The URL to open, token included: `http://127.0.0.1:PORT/<token>/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_CONSOLE_PORT = 4040;
const FALLBACK_PORTS = 10;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

type Asset = { type: string; load: () => string | Buffer };

const requireFromHere = createRequire(import.meta.url);
/** The compiled browser scripts, found from src/ui as from dist/ui (tests run the sources). */
const browserScript = (name: string) => fs.readFileSync(new URL(`../../dist/ui/browser/${name}`, import.meta.url));
const ASSETS: Record<string, Asset> = {
  'assets/console.js': { type: 'text/javascript', load: () => browserScript('console.js') },
  'assets/charts.js': { type: 'text/javascript', load: () => browserScript('charts.js') },
  'assets/console.css': { type: 'text/css', load: () => CONSOLE_CSS },
  'assets/uPlot.iife.min.js': { type: 'text/javascript', load: () => fs.readFileSync(requireFromHere.resolve('uplot/dist/uPlot.iife.min.js')) },
  'assets/uPlot.min.css': { type: 'text/css', load: () => fs.readFileSync(requireFromHere.resolve('uplot/dist/uPlot.min.css')) },
};

interface StreamClient {
  res: http.ServerResponse;
  view: 'list' | 'detail' | 'tunnel';
  search: DeliverySearch;
  id?: number;
  /** The detail view: how the delivery's forwards and hooks stood when last sent. */
  outbox?: string;
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  if (options.receiverPort !== undefined && options.port === options.receiverPort && options.port !== 0) {
    throw new UsageError(`The console needs a port of its own: ${options.port} is the receiver's. Pick another --ui-port (0 picks a free one).`);
  }
  const store = await openStore(storeLocation(options.dbPath));
  const token = newAccessToken();
  const ctx: ConsoleContext = {
    store,
    settings: options.settings,
    providers: buildProviders(providerConfigFromSettings(options.settings)),
    base: `/${token}/`,
    live: options.live,
  };
  const assetCache = new Map<string, string | Buffer>();
  const clients = new Set<StreamClient>();
  let port = 0;

  const send = (client: StreamClient, event: string, data: unknown) => {
    client.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const sendDetail = async (client: StreamClient, stamp: string) => {
    client.outbox = stamp;
    const row = await store.read(getDeliveryOp, client.id!);
    if (row) send(client, 'detail', { id: row.id, html: (await deliveryLive(ctx, row)).text });
  };

  /** Tell every open page about deliveries that appeared or changed. */
  const broadcast = async (ids: number[]) => {
    for (const client of [...clients]) {
      try {
        if (client.view === 'list') {
          if (ids.length === 0) continue;
          const { beforeId: _older, ...filters } = client.search;
          const matching = new Map((await store.read(searchDeliveriesOp, { ...filters, ids })).map((row) => [row.id, row]));
          for (const id of ids) {
            const row = matching.get(id);
            send(client, 'delivery', { id, row: row ? deliveryRow(ctx, row).text : null });
          }
        } else if (client.view === 'detail' && client.id !== undefined) {
          // The delivery changed, or one of its forwards or hooks (written by whichever process runs them).
          const stamp = await store.read(outboxStampOp, client.id);
          if (ids.includes(client.id) || stamp !== client.outbox) await sendDetail(client, stamp);
        }
      } catch (err) {
        send(client, 'problem', { message: errorMessage(err) });
      }
    }
  };

  const watcher = await DeliveryWatcher.create(store, broadcast, options.pollMs).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  watcher.start();
  const stopLive = options.live?.on((change) => {
    if (change.kind === 'delivery') {
      void broadcast([change.id]);
      watcher.poke();
    } else {
      for (const client of clients) {
        if (change.kind === 'rejected' && client.view === 'list') send(client, 'rejected', { html: rejectedSection(ctx).text });
        if (change.kind === 'tunnel' && client.view === 'tunnel') send(client, 'tunnel', { html: tunnelSection(ctx).text });
      }
    }
  });
  const heartbeat = setInterval(() => {
    for (const client of clients) client.res.write(': still here\n\n');
  }, 15_000);
  heartbeat.unref();

  const respond = (res: http.ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const forbidden = (res: http.ServerResponse) =>
    respond(res, 403, 'text/plain', 'Forbidden: open the console with the URL wearhook printed (it carries the access token), on 127.0.0.1 or localhost.\n');
  const notFound = (res: http.ServerResponse) =>
    respond(res, 404, 'text/html', `<!doctype html><title>Not found</title><p>Nothing here. <a href="${escapeHtml(ctx.base)}deliveries">Deliveries</a></p>`);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const inside = consolePath(req, token, port);
    if (inside === undefined) return forbidden(res);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://console');
    if (!url.pathname.startsWith(`/${token}/`)) {
      res.writeHead(302, { ...SECURITY_HEADERS, location: ctx.base });
      return void res.end();
    }

    const asset = ASSETS[inside];
    if (asset && method === 'GET') {
      if (!assetCache.has(inside)) assetCache.set(inside, asset.load());
      res.writeHead(200, { ...SECURITY_HEADERS, 'cache-control': 'private, max-age=3600', 'content-type': `${asset.type}; charset=utf-8` });
      return void res.end(assetCache.get(inside));
    }

    const replay = /^deliveries\/(\d+)\/replay$/.exec(inside);
    if (replay) {
      if (method !== 'POST') return respond(res, 405, 'text/plain', 'use POST\n');
      if (!sameOriginJson(req, port)) return forbidden(res);
      const request = await readJson(req);
      const row = await store.read(getDeliveryOp, Number(replay[1]));
      if (!row) return respond(res, 404, 'application/json', JSON.stringify({ error: 'no such delivery' }));
      const target = typeof request?.url === 'string' ? request.url : '';
      const mode: ReplayMode = request?.mode === 'exact' ? 'exact' : 'resign';
      if (!/^https?:\/\/[^\s]+$/i.test(target) || !URL.canParse(target)) {
        return respond(res, 400, 'application/json', JSON.stringify({ error: 'give an http:// or https:// URL to replay to' }));
      }
      const answer = await replayFromConsole(ctx, row, target, mode);
      return respond(res, 200, 'application/json', JSON.stringify(answer));
    }

    if (method !== 'GET' && method !== 'HEAD') return respond(res, 405, 'text/plain', 'use GET\n');
    if (inside === 'events') return openStream(req, res, url.searchParams);
    if (inside === '' || inside === 'deliveries') return respond(res, 200, 'text/html', await deliveriesPage(ctx, searchFrom(url.searchParams)));
    const detail = /^deliveries\/(\d+)$/.exec(inside);
    if (detail) {
      const text = await deliveryPage(ctx, Number(detail[1]));
      return text ? respond(res, 200, 'text/html', text) : notFound(res);
    }
    if (inside === 'subscriptions') return respond(res, 200, 'text/html', await subscriptionsPage(ctx));
    if (inside === 'participants') return respond(res, 200, 'text/html', await participantsReportPage(ctx, url.searchParams));
    const participant = /^participants\/([^/]+)$/.exec(inside);
    if (participant) {
      const subject = await consoleParticipant(ctx, decodeURIComponent(participant[1]!));
      return subject ? respond(res, 200, 'text/html', await participantPage(ctx, subject, url.searchParams)) : notFound(res);
    }
    return notFound(res);
  }

  async function openStream(req: http.IncomingMessage, res: http.ServerResponse, params: URLSearchParams): Promise<void> {
    const id = Number(params.get('id'));
    const view = params.get('view') === 'tunnel' ? 'tunnel' : Number.isInteger(id) && id > 0 ? 'detail' : 'list';
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    const client: StreamClient = { res, view, search: searchFrom(params), ...(view === 'detail' ? { id } : {}) };
    clients.add(client);
    // What changed between the page's rendering and this stream is not lost: the page gets its state now.
    req.on('close', () => clients.delete(client));
    if (view === 'detail') await sendDetail(client, await store.read(outboxStampOp, id));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) respond(res, 500, 'text/plain', `The console failed: ${errorMessage(err)}\n`);
      else res.destroy();
    });
  });

  try {
    port = await listenOnFreePort(server, options);
  } catch (err) {
    watcher.stop();
    stopLive?.();
    clearInterval(heartbeat);
    await store.close();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    port,
    close: async () => {
      watcher.stop();
      stopLive?.();
      clearInterval(heartbeat);
      for (const client of clients) client.res.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) return undefined;
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function tryListen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/** The port asked for; by default 4040 or the next free one (like ngrok's inspector), else any. */
async function listenOnFreePort(server: http.Server, options: ConsoleOptions): Promise<number> {
  const inUse = (err: unknown) => (err as { code?: string }).code === 'EADDRINUSE';
  if (options.port !== undefined) {
    try {
      return await tryListen(server, options.port);
    } catch (err) {
      if (inUse(err)) throw new RuntimeError(`Port ${options.port} on 127.0.0.1 is already in use; pick another port for the console (0 picks a free one).`);
      throw new RuntimeError(`The console could not start on 127.0.0.1:${options.port}: ${errorMessage(err)}`);
    }
  }
  for (let port = DEFAULT_CONSOLE_PORT; port < DEFAULT_CONSOLE_PORT + FALLBACK_PORTS; port++) {
    if (port === options.receiverPort) continue;
    try {
      return await tryListen(server, port);
    } catch (err) {
      if (!inUse(err)) throw new RuntimeError(`The console could not start on 127.0.0.1:${port}: ${errorMessage(err)}`);
    }
  }
  return tryListen(server, 0);
}
