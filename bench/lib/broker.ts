import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { request } from 'undici';
import { mintToken } from '../../shared/auth/tokens.js';
import { names, type Names } from '../../shared/nats/subjects.js';
import { cpuSecondsOf, freePort, memoryOf, REPO_ROOT, sleep, spawnTs, stopChild } from './proc.js';

export const NATS_URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let logDirPath: string | undefined;

/** Where this run's broker logs go (one file per broker process), made on first use. */
export function logDir(): string {
  logDirPath ??= mkdtempSync(path.join(os.tmpdir(), 'hookline-bench-'));
  return logDirPath;
}

/**
 * One isolated installation: its own database and stream prefix (dropped by `drop`), its JWT secret and
 * an admin token. Brokers started on it share that state, as replicas or restarts would.
 */
export class Installation {
  readonly database: string;
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly names: Names;
  readonly secret = randomBytes(32).toString('hex');
  readonly token: string;
  /** Bench-side access to the installation's database (seeding, counting). */
  readonly db: pg.Pool;
  private static nc: NatsConnection | undefined;
  /** Installations not yet dropped, so an interrupted run can still drop them. */
  static readonly live = new Set<Installation>();

  constructor(readonly label: string) {
    Installation.live.add(this);
    const tag = randomBytes(4).toString('hex');
    this.database = `hookline_bench_${tag}`;
    const u = new URL(PG_URL);
    u.pathname = `/${this.database}`;
    this.databaseUrl = u.toString();
    this.prefix = `b${tag}`;
    this.names = names(this.prefix);
    this.token = mintToken(this.secret, { sub: 'bench', scope: 'admin', expiresIn: '1d' });
    this.db = new pg.Pool({ connectionString: this.databaseUrl, max: 4 });
    this.db.on('error', () => {});
  }

  /** The bench's own NATS connection (stream and consumer state), shared by all installations. */
  static async nats(): Promise<NatsConnection> {
    Installation.nc ??= await connect({ servers: NATS_URL, name: 'hookline-bench' });
    return Installation.nc;
  }

  static async closeNats(): Promise<void> {
    await Installation.nc?.close().catch(() => {});
    Installation.nc = undefined;
  }

  /** Jobs in DELIVERIES not yet acked by a dispatcher (waiting plus in flight). */
  async deliveriesBacklog(): Promise<{ stored: number; pending: number; ackPending: number }> {
    const jsm = await (await Installation.nats()).jetstreamManager();
    const s = await jsm.streams.info(this.names.deliveriesStream);
    const c = await jsm.consumers.info(this.names.deliveriesStream, this.names.dispatcherConsumer);
    return { stored: s.state.messages, pending: c.num_pending, ackPending: c.num_ack_pending };
  }

  /** Messages in MESSAGES the router has not acked yet. */
  async routerBacklog(): Promise<number> {
    const jsm = await (await Installation.nats()).jetstreamManager();
    const c = await jsm.consumers.info(this.names.messagesStream, this.names.routerConsumer);
    return c.num_pending + c.num_ack_pending;
  }

  /** Drops the database and the streams; never throws. */
  async drop(): Promise<void> {
    Installation.live.delete(this);
    await this.db.end().catch(() => {});
    const admin = new pg.Client({ connectionString: PG_URL });
    try {
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`);
    } catch {
      // best effort
    } finally {
      await admin.end().catch(() => {});
    }
    try {
      const jsm = await (await Installation.nats()).jetstreamManager();
      for (const s of [this.names.messagesStream, this.names.deliveriesStream]) await jsm.streams.delete(s).catch(() => {});
    } catch {
      // best effort
    }
  }
}

/** Options of one broker process. */
export interface BrokerOptions {
  /** `HOOKLINE_ROLES`. @default all three */
  roles?: string;
  /** `LOG_LEVEL`. @default info (as shipped) */
  logLevel?: string;
  /** More environment (e.g. HOOKLINE_DISPATCH_CONCURRENCY). */
  env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /**
   * Another checkout of Hookline to run instead of this one (compare-latency.ts: old code beside new).
   * @default HOOKLINE_BENCH_TREE, else this checkout: a whole figure measured on older code, e.g. G's reference
   */
  root?: string;
}

/**
 * Hookline's real entry point (`services/all/main.ts`, what `npm start` runs) as a child process on an
 * installation, its log written to a file. Memory and CPU are read from /proc.
 */
export class BrokerProcess {
  private peakMiB = 0;
  private sampler: NodeJS.Timeout | undefined;
  /** Processes of the same broker started beside this one (see layout.ts): counted and stopped with it. */
  private readonly companions: BrokerProcess[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
    readonly startMs: number,
  ) {
    this.sampler = setInterval(() => this.sample(), 250);
    this.sampler.unref();
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(inst: Installation, opts: BrokerOptions = {}): Promise<BrokerProcess> {
    const port = await freePort();
    const logFile = path.join(logDir(), `${inst.label}-${Date.now()}.log`);
    const fd = openSync(logFile, 'a');
    const t0 = performance.now();
    const root = opts.root ?? process.env.HOOKLINE_BENCH_TREE ?? REPO_ROOT;
    const child = spawnTs(path.join(root, 'services/all/main.ts'), {
      cwd: root,
      logFd: fd,
      env: {
        PORT: String(port),
        NATS_URL,
        DATABASE_URL: inst.databaseUrl,
        HOOKLINE_JWT_SECRET: inst.secret,
        HOOKLINE_STREAM_PREFIX: inst.prefix,
        HOOKLINE_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
        HOOKLINE_VERIFY_ENDPOINTS: 'off',
        HOOKLINE_SHUTDOWN_GRACE_MS: '5000',
        HOOKLINE_ROLES: opts.roles ?? 'api,router,dispatcher',
        LOG_LEVEL: opts.logLevel ?? 'info',
        ...opts.env,
      },
      nodeFlags: opts.nodeFlags,
    });
    closeSync(fd);
    const broker = new BrokerProcess(child, port, logFile, t0);
    try {
      await broker.waitReady(60_000);
    } catch (err) {
      await stopChild(child, 1000);
      throw new Error(`${(err as Error).message}\n--- broker log (${logFile}) ---\n${broker.logTail()}`);
    }
    return broker;
  }

  /** Milliseconds from spawn until /readyz answered 200. */
  readyAfterMs = 0;

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`the broker exited with ${this.child.exitCode}`);
      try {
        const res = await request(`${this.baseUrl}/readyz`);
        await res.body.dump();
        if (res.statusCode === 200) {
          this.readyAfterMs = performance.now() - this.startMs;
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the broker was not ready within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Counts `other` as part of this broker from now on: its CPU, memory and warnings; stopped with it. */
  addCompanion(other: BrokerProcess): void {
    this.companions.push(other);
  }

  /** Pids of this process and its companions. */
  pids(): number[] {
    return [this.child.pid, ...this.companions.map((c) => c.child.pid)].filter((p): p is number => p !== undefined);
  }

  /** Lines of the log at warn level or above (pino levels 40+), to surface trouble in the report. */
  warnings(): string[] {
    try {
      return readFileSync(this.logFile, 'utf8')
        .split('\n')
        .filter((l) => /"level":(4|5|6)\d/.test(l))
        .concat(this.companions.flatMap((c) => c.warnings()));
    } catch {
      return [];
    }
  }

  private sample(): void {
    const m = this.child.pid ? memoryOf(this.child.pid) : undefined;
    if (m) this.peakMiB = Math.max(this.peakMiB, m.peakMiB, m.rssMiB);
  }

  /** Peak resident memory so far (VmHWM), MiB; with companions, the sum of every process's peak. */
  peakRssMiB(): number {
    this.sample();
    return this.companions.reduce((sum, c) => sum + c.peakRssMiB(), this.peakMiB);
  }

  rssMiB(): number {
    return this.companions.reduce((sum, c) => sum + c.rssMiB(), (this.child.pid && memoryOf(this.child.pid)?.rssMiB) || NaN);
  }

  /** CPU seconds so far of this process and its companions. */
  cpuSeconds(): number {
    return this.companions.reduce((sum, c) => sum + c.cpuSeconds(), this.child.pid ? cpuSecondsOf(this.child.pid) : NaN);
  }

  async stop(): Promise<void> {
    this.sample();
    if (this.sampler) clearInterval(this.sampler);
    await Promise.all([stopChild(this.child, 10_000), ...this.companions.map((c) => c.stop())]);
  }
}
