// Shared measuring tools for the benchmarks: wall time and peak memory of a child process,
// percentiles, temp dirs. Numbers are always reported next to a baseline measured in the same run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'bin', 'wearhook.js');

export function tempDir(prefix = 'wearhook-bench-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Peak resident memory of a live process, from /proc (Linux); polled until it exits. */
function readPeakRssKb(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Run a command to completion; stdout goes to `stdoutFile` (or is discarded). `env` is added
 * to this process's environment, `fullEnv` replaces it. Returns wall milliseconds, the peak RSS
 * seen (MiB) and stderr.
 */
export function measure(command, args, { env = {}, fullEnv, stdoutFile, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const out = stdoutFile ? fs.openSync(stdoutFile, 'w') : 'ignore';
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, env: fullEnv ?? { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', out, 'pipe'] });
    let stderr = '';
    let peakKb = 0;
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => (peakKb = Math.max(peakKb, readPeakRssKb(child.pid))), 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (typeof out === 'number') fs.closeSync(out);
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      resolve({ ms, peakMiB: peakKb / 1024, stderr });
    });
  });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(values) {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export const round = (n, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

export function commandExists(name) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Median milliseconds of a 4 KiB write followed by fsync in `dir`: the floor of one durable commit on this disk. */
export function fsyncMs(dir, runs = 200) {
  const file = path.join(dir, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const times = [];
  try {
    for (let i = 0; i < runs; i++) {
      const started = process.hrtime.bigint();
      fs.writeSync(fd, block, 0, block.length, (i % 16) * 4096);
      fs.fsyncSync(fd);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return round(median(times), 3);
}
