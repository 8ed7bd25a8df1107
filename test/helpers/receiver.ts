import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { openDatabase, type DB } from '../../src/store/db.js';
import { buildProviders } from '../../src/providers/registry.js';
import { startReceiver, type Receiver, type ReceiverEvent, type ReceiverOptions } from '../../src/receiver/server.js';
import { tempDir } from './cli.js';
import { TEST_SECRETS } from './signing.js';

export interface TestReceiver {
  receiver: Receiver;
  db: DB;
  dbFile: string;
  events: ReceiverEvent[];
  close(): Promise<void>;
}

/** The receiver in-process on 127.0.0.1:0 with a real SQLite file and the test secrets. */
export async function startTestReceiver(options: Partial<ReceiverOptions> & { corsanoSignatureHeader?: string; dbFile?: string } = {}): Promise<TestReceiver> {
  const dir = tempDir('wearhook-receiver-');
  const dbFile = options.dbFile ?? path.join(dir, 'wearhook.db');
  const db = openDatabase(dbFile);
  const events: ReceiverEvent[] = [];
  const receiver = await startReceiver({
    db,
    port: 0,
    providers: buildProviders({ secrets: TEST_SECRETS, corsanoSignatureHeader: options.corsanoSignatureHeader }),
    fetchOuraDocument: async () => null,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return {
    receiver,
    db,
    dbFile,
    events,
    close: async () => {
      await receiver.close();
      if (db.open) db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const res = await request(url, { method: (init.method ?? 'POST') as 'POST', headers: init.headers, body: init.body });
  const body = await res.body.text();
  return { status: res.statusCode, body, json: () => JSON.parse(body) as Record<string, unknown>, headers: res.headers };
}

export function deliveryCount(db: DB): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n;
}
