import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OURA_SPEC = path.join(root, 'test', 'fixtures', 'oura-openapi.json');
const PRISM_BIN = path.join(root, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js');

export interface PrismMock {
  /** Base URL, e.g. http://127.0.0.1:41234 (use as WEARHOOK_OURA_API_URL). */
  url: string;
  /** Every line Prism logged about a request that broke the contract. */
  violations(): string[];
  /** Everything Prism logged, for a failing test's message. */
  log(): string;
  /** Forget what was logged so far (between tests that share one Prism). */
  clear(): void;
  close(): Promise<void>;
}

/** A port free on 127.0.0.1 right now, for a server that cannot be given port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start Prism (the Stoplight contract mock) on 127.0.0.1 serving Oura's vendored OpenAPI
 * description. Prism checks every request against the spec, security included, and answers
 * from the response schemas; its validator's complaints are collected so a test can assert
 * there were none. `dynamic` makes Prism generate varied data instead of static examples.
 */
export async function startPrism(options: { dynamic?: boolean; spec?: string } = {}): Promise<PrismMock> {
  const port = await freePort();
  const args = [PRISM_BIN, 'mock', '-h', '127.0.0.1', '-p', String(port), options.spec ?? OURA_SPEC];
  if (options.dynamic) args.push('--dynamic');
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start within 60 s:\n${output}`)), 60_000);
    const onData = () => {
      if (/Prism is listening on/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Prism exited with ${code}:\n${output}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    violations: () =>
      output
        .split('\n')
        .filter((line) => /\[VALIDATOR\].*(✖|error)/.test(line))
        .map((line) => line.replace(/^\[[^\]]*\]\s*›\s*/, '').trim()),
    log: () => output,
    clear: () => {
      output = '';
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
