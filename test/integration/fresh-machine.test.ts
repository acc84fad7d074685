import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
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
const canUnshareMounts = spawnSync('unshare', ['-m', '-n', 'true']).status === 0;
const TSX = path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs');
const MAIN = path.join(REPO_ROOT, 'services/all/main.ts');

/** Waits up to 150 s for the broker's /readyz and prints `readyz <status> <body>`. */
const READYZ = String.raw`node -e '
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
'`;

/** Prints whether anything still listens on the default Postgres and NATS ports. */
const PROBE = String.raw`node -e '
  const net = require("node:net");
  const probe = (port) => new Promise((r) => { const s = net.connect(port, "127.0.0.1"); s.on("connect", () => { s.destroy(); r("open"); }); s.on("error", () => r("closed")); });
  Promise.all([probe(5432), probe(4222)]).then(([pg, nats]) => console.log("after exit: postgres " + pg + ", nats " + nats));
'`;

/** Runs inside the namespace: start the broker, wait for /readyz, SIGTERM it, then probe the default ports. */
const SCRIPT = String.raw`
set -u
ip link set lo up
node --import "$TSX" "$MAIN" &
pid=$!
${READYZ}
kill -TERM $pid
wait $pid
echo "exit=$?"
${PROBE}
`;

/**
 * Runs inside a network and mount namespace, as root: the checkout is seen at $LOCKED/hl and the working
 * directory is $LOCKED/work, where $LOCKED is 0700 (what \`mktemp -d\` gives), so the postgres user can reach
 * neither the package's binaries nor .hookline/. /var/lib is a tmpfs of this namespace, so the relocated data
 * goes away with it. Starts twice (SIGINT, as Ctrl-C) to show the second start finds the first one's data.
 */
const LOCKED_SCRIPT = String.raw`
set -u
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mount --bind "$REPO" "$LOCKED/hl"
cd "$LOCKED/work"
for run in 1 2; do
  node --import "$LOCKED/hl/node_modules/tsx/dist/loader.mjs" "$LOCKED/hl/services/all/main.ts" &
  pid=$!
  ${READYZ}
  kill -INT $pid
  wait $pid
  echo "exit=$?"
done
${PROBE}
echo "relocated: $(cd /var/lib/hookline/work-* && ls -d ORIGIN postgres postgres-bin-* | tr '\n' ' ')"
echo "in .hookline: $(ls .hookline | tr '\n' ' ')"
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

/** Runs `script` in bash inside new namespaces (`unshare` flags) and answers its stdout and stderr, interleaved. */
async function runUnshared(flags: string[], script: string, opts: { cwd: string; env: Record<string, string> }): Promise<string> {
  const child = spawn('unshare', [...flags, 'bash', '-c', script], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin:/usr/sbin:/sbin', LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 200_000);
  await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  return out;
}

(canUnshare ? describe : describe.skip)('a fresh machine (network namespace with nothing listening)', () => {
  it('when npm start runs with no DATABASE_URL or NATS_URL, then it starts embedded Postgres and nats-server, serves /readyz and stops both on exit', async () => {
    const out = await runUnshared(['-n'], SCRIPT, { cwd, env: { HOME: cwd, TSX, MAIN } });

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


(canUnshareMounts ? describe : describe.skip)('a fresh machine, as root, in a directory others cannot enter', () => {
  let locked: string;

  beforeAll(async () => {
    locked = await mkdtemp(path.join(tmpdir(), 'hookline-locked-'));
    await mkdir(path.join(locked, 'hl'));
    await mkdir(path.join(locked, 'work'), { mode: 0o755 });
  });

  afterAll(async () => {
    // hl/ is a mount point only inside the namespace, which is gone: here it is an empty directory.
    await rm(locked, { recursive: true, force: true });
  });

  it('when the checkout and its .hookline/ sit under a 0700 directory, then npm start copies the binaries, keeps the data in /var/lib/hookline, serves /readyz and stops both, twice', async () => {
    expect((await stat(locked)).mode & 0o777).toBe(0o700);
    const out = await runUnshared(['-m', '-n'], LOCKED_SCRIPT, { cwd: locked, env: { HOME: locked, REPO: REPO_ROOT, LOCKED: locked } });

    expect(out).not.toContain('EACCES');
    const started = out.match(/^Started PostgreSQL .*$/gm) ?? [];
    expect(started).toHaveLength(2);
    const escaped = locked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(started[0]).toMatch(
      new RegExp(`^Started PostgreSQL \\(embedded\\) on 127\\.0\\.0\\.1:5432, data in /var/lib/hookline/work-[0-9a-f]{12}/postgres \\(the postgres user cannot enter ${escaped}\\) — `),
    );
    // The second start uses the first one's data: the place depends on the checkout only.
    expect(started[1]).toBe(started[0]);
    expect(out.match(/readyz 200 \{"status":"ready","checks":\{"accepting":true,"nats":true,"postgres":true\}\}/g)).toHaveLength(2);
    expect(out.match(/^exit=0$/gm)).toHaveLength(2);
    expect(out).toContain('after exit: postgres closed, nats closed');
    expect(out).toMatch(/relocated: ORIGIN postgres postgres-bin-[\w.-]+ \n/);
    expect(out).toContain('in .hookline: dev-jwt-secret nats \n');
  }, 220_000);

  it('when data an earlier start left in .hookline/postgres is out of the postgres user\'s reach, then npm start exits 1 saying what to do, without a stack', async () => {
    const stale = path.join(locked, 'stale');
    await mkdir(path.join(stale, '.hookline/postgres'), { recursive: true, mode: 0o755 });
    await writeFile(path.join(stale, '.hookline/postgres/PG_VERSION'), '18\n');
    const run = spawnSync('unshare', ['-n', 'bash', '-c', 'ip link set lo up; node --import "$TSX" "$MAIN"'], {
      cwd: stale,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin:/usr/sbin:/sbin', HOME: stale, TSX, MAIN, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `hookline: running as root, the embedded PostgreSQL runs as the postgres user, which cannot reach the data an earlier start left in ${stale}/.hookline/postgres (chmod o+x ${locked}, run Hookline as another user, or set DATABASE_URL)\n`,
    );
  }, 70_000);
});
