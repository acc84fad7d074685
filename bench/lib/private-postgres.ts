import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, sleep } from './proc.js';

/**
 * A PostgreSQL server of the bench's own (initdb in a temp folder, its own port), so that what it measures —
 * WAL written, CPU of the backends, autovacuum — belongs to the workload alone and not to whoever else shares
 * the machine's server. It runs the machine's own PostgreSQL binaries with initdb's defaults (the settings a
 * fresh `apt-get install postgresql` has), plus whatever `settings` add. As root it runs as `postgres`.
 */
export class PrivatePostgres {
  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
    readonly port: number,
    readonly binDir: string,
  ) {}

  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  static binDir(): string {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
    if (!versions.length) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)');
    return path.join(root, versions[0]!, 'bin');
  }

  static async start(settings: Record<string, string> = {}, parent = os.tmpdir()): Promise<PrivatePostgres> {
    const binDir = PrivatePostgres.binDir();
    const dataDir = mkdtempSync(path.join(parent, 'hookline-pg-'));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const { uid, gid } = postgresUser();
      chownSync(dataDir, uid, gid);
    }
    const run = (cmd: string, args: string[]) =>
      asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
    const init = run(path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const port = await freePort();
    const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    const cmd = path.join(binDir, 'postgres');
    const child = asRoot
      ? spawn('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' })
      : spawn(cmd, args, { stdio: 'ignore' });
    const server = new PrivatePostgres(child, dataDir, port, binDir);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const c = new pg.Client({ connectionString: server.url() });
      try {
        await c.connect();
        await c.end();
        return server;
      } catch {
        await c.end().catch(() => {});
        if (child.exitCode !== null || Date.now() > deadline) {
          await server.stop();
          throw new Error('the private PostgreSQL did not start');
        }
        await sleep(100);
      }
    }
  }

  /** The postmaster's pid (runuser's child when run as root), read from postmaster.pid. */
  postmasterPid(): number {
    return Number(readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** Pids of the postmaster and every process it forked (backends, autovacuum, walwriter, checkpointer…). */
  processIds(): number[] {
    const root = this.postmasterPid();
    const out = [root];
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === root) out.push(Number(pid));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  /** Bytes the data directory holds (base/, pg_wal/ …), as `du` counts them. */
  diskBytes(): number {
    const r = spawnSync('du', ['-sb', this.dataDir], { encoding: 'utf8' });
    return Number(r.stdout.split('\t')[0]);
  }

  /** Stops the server (fast shutdown) and removes its data directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      try {
        process.kill(this.postmasterPid(), 'SIGINT');
      } catch {
        this.child.kill('SIGINT');
      }
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs a postgres user to run the private server as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
