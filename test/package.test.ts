import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/cli.js';

/**
 * Ready to publish: `npm pack` the package as it is built, install the tarball into a fresh
 * folder and run the `wearhook` it installs. The install is offline, from npm's cache (which
 * `npm ci` filled), pinned to the versions of package-lock.json; install scripts are skipped,
 * so better-sqlite3 is not compiled again (minutes), which `--version` and `--help` never load.
 */

const run = promisify(execFile);
const dir = tempDir('wearhook-pack-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Packed {
  filename: string;
  integrity: string;
  files: { path: string }[];
}

describe('the npm package', () => {
  it('packs bin, dist, README and LICENSE only, installs from the tarball, and its wearhook runs', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    expect(pkg.repository.url).toMatch(/^git\+https:\/\//);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs.url).toMatch(/^https:\/\//);

    const packedJson = (await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT })).stdout;
    const packed = (JSON.parse(packedJson) as Packed[])[0]!;
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/wearhook.js', 'dist/cli/main.js']));
    expect(files.filter((f) => f.endsWith('.map') || /(^|\/)(test|src|bench|scripts)\//.test(f) || /\.test\.[jt]s$/.test(f))).toEqual([]);

    // A project that depends on the tarball, locked to the versions this repository is tested with.
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    const tarball = `file:../${packed.filename}`;
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const packages: Record<string, unknown> = {
      '': { name: 'pack-check', dependencies: { wearhook: tarball } },
      'node_modules/wearhook': {
        version: pkg.version,
        resolved: tarball,
        integrity: packed.integrity,
        license: pkg.license,
        dependencies: pkg.dependencies,
        optionalDependencies: pkg.optionalDependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
    };
    for (const [where, entry] of Object.entries(lock.packages)) if (where !== '' && !entry.dev) packages[where] = entry;
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'pack-check', private: true, dependencies: { wearhook: tarball } }));
    fs.writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify({ name: 'pack-check', lockfileVersion: 3, requires: true, packages }));
    await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app });

    const installed = path.join(app, 'node_modules', 'wearhook');
    expect(fs.existsSync(path.join(installed, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'src'))).toBe(false);
    const bin = path.join(app, 'node_modules', '.bin', 'wearhook');
    const version = await run(bin, ['--version'], { cwd: app });
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await run(bin, ['--help'], { cwd: app });
    for (const command of ['listen', 'events', 'export', 'completion', 'doctor']) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  }, 120_000);
});
