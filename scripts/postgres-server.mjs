// A real PostgreSQL server of wearhook's own, for the tests (test/helpers/postgres-setup.ts,
// the reliability runs) and the benchmarks (bench/receiver.mjs): a fresh cluster in a temporary
// folder, on 127.0.0.1 and a free port, with a password. The server binaries are Debian's
// `postgresql` package (`.ci/run` installs it) or any PostgreSQL 13+ whose bin folder
// WEARHOOK_PG_BIN names. PostgreSQL refuses to run as root: as root, the server runs as the
// `postgres` user (or `nobody`). Plain JavaScript so that the benchmarks can load it; types in
// postgres-server.d.mts.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import net from "node:net";
function findPostgresBin() {
  const candidates = [];
  if (process.env.WEARHOOK_PG_BIN) candidates.push(process.env.WEARHOOK_PG_BIN);
  for (const root of ["/usr/lib/postgresql"]) {
    if (!fs.existsSync(root)) continue;
    const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(path.join(root, v, "bin"));
  }
  const pgConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) candidates.push(dir);
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, "postgres")) && fs.existsSync(path.join(dir, "initdb"))) return dir;
  }
  throw new Error(
    "The PostgreSQL tests need the PostgreSQL server binaries (initdb, postgres): install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or set WEARHOOK_PG_BIN to their folder."
  );
}
function serverAccount() {
  if (process.getuid?.() !== 0) return void 0;
  for (const name of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", name], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error("Running as root, and there is neither a postgres nor a nobody account to run PostgreSQL as.");
}
async function startPostgresServer(options = {}) {
  const bin = findPostgresBin();
  const account = serverAccount();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "wearhook-pg-"));
  const data = path.join(root, "data");
  const user = "wearhook";
  const password = `pw-${randomBytes(6).toString("hex")}`;
  const pwfile = path.join(root, "pw");
  fs.writeFileSync(pwfile, password);
  if (account) {
    fs.chownSync(root, account.uid, account.gid);
    fs.chownSync(pwfile, account.uid, account.gid);
  }
  const asServer = account ? { uid: account.uid, gid: account.gid } : {};
  const init = spawnSync(
    path.join(bin, "initdb"),
    ["-D", data, "-U", user, `--pwfile=${pwfile}`, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
    { encoding: "utf8", cwd: root, ...asServer }
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout || init.error?.message}`);
  let child;
  let port = 0;
  for (let attempt = 0; attempt < 3 && !child; attempt++) {
    port = await freePort();
    const settings = {
      listen_addresses: "127.0.0.1",
      port,
      unix_socket_directories: root,
      fsync: options.fsync ? "on" : "off",
      synchronous_commit: options.fsync ? "on" : "off",
      full_page_writes: options.fsync ? "on" : "off",
      max_connections: 300,
      shared_buffers: "128MB",
      ...options.settings
    };
    const args = ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
    const started = spawn(path.join(bin, "postgres"), args, { cwd: root, stdio: ["ignore", "ignore", "pipe"], ...asServer });
    let log = "";
    started.stderr.on("data", (chunk) => log = (log + chunk.toString()).slice(-4e3));
    const url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
    if (await ready(url, started)) child = started;
    else {
      started.kill("SIGKILL");
      if (attempt === 2) throw new Error(`PostgreSQL did not start: ${log}`);
    }
  }
  const server = child;
  const kill = () => server.kill("SIGKILL");
  process.once("exit", kill);
  const admin = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
  return {
    port,
    user,
    password,
    url: (db) => `postgres://${user}:${password}@127.0.0.1:${port}/${db}`,
    async createDatabase(name = `t_${randomBytes(6).toString("hex")}`, template) {
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`);
      } finally {
        await client.end();
      }
      return `postgres://${user}:${password}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      process.removeListener("exit", kill);
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill("SIGINT");
        await exited;
      }
      fs.rmSync(root, { recursive: true, force: true });
    }
  };
}
async function ready(url, child) {
  const deadline = Date.now() + 3e4;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      await client.end().catch(() => void 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return false;
}
export {
  findPostgresBin,
  startPostgresServer
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

