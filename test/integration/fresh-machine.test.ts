import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../helpers/broker-process.js';

/**
 * `npm start` on a machine where nothing runs: inside a fresh network namespace (only loopback, nothing
 * listening) the real entry point must start an embedded PostgreSQL and a nats-server child on the default
 * ports, keep their data under `.hookline/`, serve /readyz, and stop both when it exits.
 * Needs `unshare -n` (root, as in CI); elsewhere the test is skipped and says why.
 */

const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0;
const TSX = path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs');
const MAIN = path.join(REPO_ROOT, 'services/all/main.ts');

/** Runs inside the namespace: start the broker, wait for /readyz, SIGTERM it, then probe the default ports. */
const SCRIPT = String.raw`
set -u
ip link set lo up
node --import "$TSX" "$MAIN" &
pid=$!
node -e '
  const deadline = Date.now() + 150000;
  (async () => {
    for (;;) {
      try {
        const res = await fetch("http://127.0.0.1:8080/readyz");
        console.log("readyz " + res.status + " " + (await res.text()));
        return;
      } catch {
        if (Date.now() > deadline) { console.log("readyz never answered"); return; }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
'
kill -TERM $pid
wait $pid
echo "exit=$?"
node -e '
  const net = require("node:net");
  const probe = (port) => new Promise((r) => { const s = net.connect(port, "127.0.0.1"); s.on("connect", () => { s.destroy(); r("open"); }); s.on("error", () => r("closed")); });
  Promise.all([probe(5432), probe(4222)]).then(([pg, nats]) => console.log("after exit: postgres " + pg + ", nats " + nats));
'
`;

let cwd: string;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'hookline-fresh-'));
  // As root, PostgreSQL runs as the postgres user, which must be able to enter the directory.
  await chmod(cwd, 0o755);
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

(canUnshare ? describe : describe.skip)('a fresh machine (network namespace with nothing listening)', () => {
  it('when npm start runs with no DATABASE_URL or NATS_URL, then it starts embedded Postgres and nats-server, serves /readyz and stops both on exit', async () => {
    const child = spawn('unshare', ['-n', 'bash', '-c', SCRIPT], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin:/usr/sbin:/sbin', HOME: cwd, TSX, MAIN, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 200_000);
    await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(killer);

    expect(out).toContain('Started PostgreSQL (embedded) on 127.0.0.1:5432, data in .hookline/postgres');
    expect(out).toMatch(/Started nats-server -js \(.*nats-server, pid \d+\) on 127\.0\.0\.1:4222, data in \.hookline\/nats/);
    expect(out).toContain('readyz 200 {"status":"ready","checks":{"accepting":true,"nats":true,"postgres":true}}');
    expect(out).toContain('exit=0');
    expect(out).toContain('after exit: postgres closed, nats closed');
    // The data stays where the lines said, for the next start.
    expect(await readdir(path.join(cwd, '.hookline/postgres'))).toContain('PG_VERSION');
    expect(await readdir(path.join(cwd, '.hookline/nats'))).toContain('jetstream');
  }, 220_000);
});

