/**
 * CPU cost per delivery: CPU milliseconds the broker process(es), NATS and Postgres spend per webhook
 * delivered, read from /proc/<pid>/stat (utime + stime) before and after a measured stretch of work.
 *
 * Only the servers the bench itself uses are counted, not every `postgres` or `nats-server` on the machine
 * (test suites on a shared machine start private ones): Postgres is the backends of the cluster behind PG_URL
 * connected to the measured installation's database (their process title names it), plus the cluster's
 * shared writers (checkpointer, background writer, WAL writer), which write for every database of the
 * cluster; the bench finds the postmaster as the parent of a backend of its own. NATS is the process listening on NATS_URL's port (found through /proc/net/tcp and the socket
 * inodes in /proc/<pid>/fd, falling back to the `nats-server` whose command line names that port).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import pg from 'pg';
import { NATS_URL, PG_URL } from './broker.js';
import { cpuSecondsOf } from './proc.js';
import { summarize } from './stats.js';

/**
 * The sum (broker + NATS + Postgres) the bench measured per delivery before this figure existed, and the
 * target: half of it. A from the drain of `bench/results/2026-11-25.json` (dispatcher ≈ 0.30 ms, NATS and
 * Postgres ≈ 0.27 ms).
 */
export const CPU_MS_PER_DELIVERY_REFERENCE = 0.57;
export const CPU_MS_PER_DELIVERY_TARGET = 0.285;

/** CPU milliseconds per delivery, by whom. */
export interface CpuPerDelivery {
  broker: number;
  nats: number;
  postgres: number;
  /** broker + nats + postgres */
  sum: number;
  deliveries: number;
}

function statOf(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  const f = statOf(pid);
  return f ? Number(f[1]) : undefined;
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map(Number);
  } catch {
    return [];
  }
}

let postmasterPid: number | undefined | null = null;
let natsPid: number | undefined | null = null;

/** The postmaster of the cluster behind PG_URL: the parent of one of its backends. Cached. */
async function postmaster(): Promise<number | undefined> {
  if (postmasterPid !== null) return postmasterPid;
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    postmasterPid = parentOf(rows[0]!.pid);
  } catch {
    postmasterPid = undefined;
  } finally {
    await client.end().catch(() => {});
  }
  return postmasterPid;
}

/** Socket inodes listening on `port` (IPv4 and IPv6), from /proc/net/tcp*. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // local_address is "IP:PORT" in hex; state 0A is LISTEN; the inode is the tenth field.
        if (f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]!);
      }
    } catch {
      // no IPv6, or not Linux
    }
  }
  return inodes;
}

/** The process serving NATS_URL. Cached. */
function natsServer(): number | undefined {
  if (natsPid !== null) return natsPid;
  const port = Number(new URL(NATS_URL).port || 4222);
  const inodes = listeningInodes(port);
  natsPid = undefined;
  for (const pid of allPids()) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'nats-server') continue;
    } catch {
      continue;
    }
    try {
      const owns = readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          return m !== null && inodes.has(m[1]!);
        } catch {
          return false;
        }
      });
      if (owns) return (natsPid = pid);
    } catch {
      // another user's process: fall back to its command line
    }
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = args.findIndex((a) => a === '-p' || a === '--port');
      if ((i >= 0 ? Number(args[i + 1]) : 4222) === port) natsPid ??= pid;
    } catch {
      // gone meanwhile
    }
  }
  return natsPid;
}

const SHARED_WRITERS = /: (checkpointer|background writer|walwriter)\s*$/;

/**
 * CPU seconds so far of the postmaster's children that work for `databases` (backends and autovacuum
 * workers: the process title names the database) or for every database (the shared writers). Backends of
 * other databases on the same cluster (other suites, other runs) are left out.
 */
function cpuOfCluster(postmasterPid: number, databases: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of allPids()) {
    const f = statOf(pid);
    if (!f || Number(f[1]) !== postmasterPid) continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    const ours = databases.some((d) => title.includes(` ${d} `) || title.endsWith(` ${d}`));
    if (ours || SHARED_WRITERS.test(title)) out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

interface Snapshot {
  broker: number;
  nats: number;
  postgres: Map<number, number>;
}

/**
 * Measures the CPU of the broker processes (`brokerPids`, read at every snapshot so processes started in
 * between are counted from zero), the NATS server and the Postgres cluster over one stretch of work.
 */
export class CpuMeter {
  private constructor(
    private readonly brokerPids: () => number[],
    private readonly pm: number | undefined,
    private readonly nats: number | undefined,
    private readonly start: Snapshot,
    private readonly startBrokerByPid: Map<number, number>,
    private readonly databases: readonly string[],
  ) {}

  /** `databases`: the installation's database (Installation.database), whose backends are counted. */
  static async start(brokerPids: () => number[], databases: readonly string[]): Promise<CpuMeter> {
    const pm = await postmaster();
    const nats = natsServer();
    const byPid = new Map(brokerPids().map((p) => [p, cpuSecondsOf(p)] as const));
    const snap = {
      broker: [...byPid.values()].reduce((a, b) => a + b, 0),
      nats: nats ? cpuSecondsOf(nats) : NaN,
      postgres: pm ? cpuOfCluster(pm, databases) : new Map<number, number>(),
    };
    return new CpuMeter(brokerPids, pm, nats, snap, byPid, databases);
  }

  /** CPU milliseconds per delivery since `start`, for `deliveries` deliveries. */
  perDelivery(deliveries: number): CpuPerDelivery {
    let broker = 0;
    for (const pid of this.brokerPids()) {
      const now = cpuSecondsOf(pid);
      if (!Number.isNaN(now)) broker += now - (this.startBrokerByPid.get(pid) ?? 0);
    }
    const nats = this.nats ? cpuSecondsOf(this.nats) - this.start.nats : NaN;
    let postgres = NaN;
    if (this.pm) {
      // Backends that exited in between are missed; the brokers' pools keep theirs for the whole stretch.
      postgres = 0;
      for (const [pid, s] of cpuOfCluster(this.pm, this.databases)) postgres += s - (this.start.postgres.get(pid) ?? 0);
    }
    const ms = (s: number) => (s * 1000) / deliveries;
    return { broker: ms(broker), nats: ms(nats), postgres: ms(postgres), sum: ms(broker + nats + postgres), deliveries };
  }
}

/** The median of each part over repeated measurements (the sum is the median of the sums). */
export function medianCost(runs: CpuPerDelivery[]): CpuPerDelivery & { sumMin: number; sumMax: number } {
  const m = (k: keyof CpuPerDelivery) => summarize(runs.map((r) => r[k])).value;
  const sums = summarize(runs.map((r) => r.sum));
  return { broker: m('broker'), nats: m('nats'), postgres: m('postgres'), sum: sums.value, sumMin: sums.min, sumMax: sums.max, deliveries: m('deliveries') };
}
