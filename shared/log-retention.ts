import type { PoolClient } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import {
  LOG_TABLES,
  createLogPartition,
  dropDeliveriesPartitionIfSettled,
  dropLogPartition,
  partitionBound,
  partitionName,
  readLogPartitions,
  type LogPartition,
} from './db/log-partitions.js';
import { LOG_MAINTENANCE_LOCK } from './db/advisory-locks.js';
import type { Pool } from './db/pool.js';
import type { Logger } from './logger.js';
import { PeriodicTask } from './periodic-task.js';

/** How the delivery log is partitioned and how long it is kept (docs/retention.md). */
export interface LogRetentionPolicy {
  /** Settled messages, deliveries and attempts older than this go, a whole partition at a time. */
  retentionMs: number;
  /** The time range one partition covers. @default 86_400_000 (a UTC day) */
  partitionMs: number;
}

/** What one maintenance pass did. */
export interface MaintenanceResult {
  /** false when another process held the maintenance lock: it does the work. */
  ran: boolean;
  created: string[];
  dropped: string[];
  /** Expired deliveries partitions kept because some of their deliveries are not settled yet. */
  held: { name: string; unsettled: number }[];
}

/** Test seam: called before each step of a pass, with the step and the backend running it. */
export type BeforeStep = (step: string, backendPid: number) => Promise<void>;

// Below deadlock_timeout (1 s by default): a pass waiting on a busy table gives way before Postgres would have
// to pick a victim, and no writer waits on it longer than this.
const LOCK_TIMEOUT_MS = 500;

/** How far ahead partitions exist: two widths, so a missed pass or a slow clock never leaves a write without one. */
export function aheadMs(policy: LogRetentionPolicy): number {
  return 2 * policy.partitionMs;
}

/** Pause between passes: a quarter width, at most ten minutes. */
export function maintenanceIntervalMs(policy: LogRetentionPolicy): number {
  return Math.max(250, Math.min(policy.partitionMs / 4, 10 * 60_000));
}

/**
 * The partitions to create so that every table covers up to `now + ahead`: each table goes on from its
 * newest bound (the cut of migration 0010, or the last partition made), first to the next multiple of the
 * width, then a width at a time, so the three tables share bounds and the bounds fall on whole days.
 */
export function partitionsToCreate(
  existing: LogPartition[],
  policy: LogRetentionPolicy,
  now: number,
): { table: string; name: string; from: string; to: string }[] {
  const out: { table: string; name: string; from: string; to: string }[] = [];
  const until = now + aheadMs(policy);
  for (const t of LOG_TABLES) {
    const mine = existing.filter((p) => p.table === t.name);
    const newest = mine.reduce<LogPartition | undefined>((a, p) => (!a || p.toMs > a.toMs ? p : a), undefined);
    let fromMs = newest ? newest.toMs : Math.floor(now / policy.partitionMs) * policy.partitionMs;
    let from = newest ? newest.to : partitionBound(t.idPrefix, fromMs);
    while (fromMs < until) {
      const toMs = (Math.floor(fromMs / policy.partitionMs) + 1) * policy.partitionMs;
      const to = partitionBound(t.idPrefix, toMs);
      out.push({ table: t.name, name: partitionName(t.name, fromMs), from, to });
      fromMs = toMs;
      from = to;
    }
  }
  return out;
}

/**
 * One maintenance pass: creates partitions ahead of need, then drops the expired ones. Each step is its own
 * transaction and each is safe to repeat, so a pass cut short (a crash, a kill, a lost connection) leaves a
 * consistent log and the next pass, by any process, finishes the work:
 *   1. partitions to create: one CREATE TABLE … PARTITION OF each (IF NOT EXISTS);
 *   2. expired deliveries partitions (newest id older than the retention): each locked, checked and dropped
 *      in one transaction — or kept, whole, while any of its deliveries is pending or failed;
 *   3. expired messages and attempts partitions over whose time range no deliveries partition remains.
 * Runs only while holding the maintenance advisory lock; returns `ran: false` if another process holds it.
 */
export async function maintainLogPartitions(
  pool: Pool,
  policy: LogRetentionPolicy,
  options: { now?: () => number; beforeStep?: BeforeStep } = {},
): Promise<MaintenanceResult> {
  const now = options.now ?? Date.now;
  const result: MaintenanceResult = { ran: false, created: [], dropped: [], held: [] };
  const client = await pool.connect();
  let broken: Error | undefined;
  // A connection lost between statements (a killed backend) is reported by the next query; without a
  // listener its 'error' event would take the whole process down.
  const onError = (err: Error) => (broken ??= err);
  client.on('error', onError);
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LOG_MAINTENANCE_LOCK]);
    if (!rows[0].locked) return result;
    result.ran = true;
    const pid = (client as PoolClient & { processID: number }).processID;
    const step = async (name: string) => options.beforeStep?.(name, pid);
    try {
      for (const p of partitionsToCreate(await readLogPartitions(client), policy, now())) {
        await step(`create ${p.name}`);
        await createLogPartition(client, p, LOCK_TIMEOUT_MS);
        result.created.push(p.name);
      }
      const cutoff = now() - policy.retentionMs;
      const expired = (ps: LogPartition[], table: string) => ps.filter((p) => p.table === table && p.toMs <= cutoff);
      for (const p of expired(await readLogPartitions(client), 'deliveries')) {
        await step(`drop ${p.name}`);
        const unsettled = await dropDeliveriesPartitionIfSettled(client, p.name, LOCK_TIMEOUT_MS);
        if (unsettled) result.held.push({ name: p.name, unsettled });
        else result.dropped.push(p.name);
      }
      const left = await readLogPartitions(client);
      const deliveries = left.filter((p) => p.table === 'deliveries');
      const overlapsDeliveries = (p: LogPartition) => deliveries.some((d) => d.fromMs < p.toMs && p.fromMs < d.toMs);
      for (const p of [...expired(left, 'attempts'), ...expired(left, 'messages')]) {
        if (overlapsDeliveries(p)) continue;
        await step(`drop ${p.name}`);
        await dropLogPartition(client, p.table, p.name, LOCK_TIMEOUT_MS);
        result.dropped.push(p.name);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOG_MAINTENANCE_LOCK]).catch((err: Error) => (broken = err));
    }
    return result;
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    // A connection that failed mid-pass is discarded, so the lock it may hold goes with its session.
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * Keeps the delivery log's partitions: one pass at start-up (so writes have partitions before anything is
 * routed), then every {@link maintenanceIntervalMs}. Every router and dispatcher runs one; the advisory lock
 * lets one pass run at a time across them all.
 */
export class LogRetention {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: { pool: Pool; logger: Logger },
    private readonly policy: LogRetentionPolicy,
  ) {
    this.task = new PeriodicTask(async () => void (await this.pass()), {
      intervalMs: maintenanceIntervalMs(policy),
      failureMessage: 'log partition maintenance failed; retrying',
      logger: deps.logger,
    });
  }

  /** One pass now; throws if it fails (start-up reports it). */
  async pass(): Promise<MaintenanceResult> {
    const r = await maintainLogPartitions(this.deps.pool, this.policy);
    if (r.created.length || r.dropped.length) {
      this.deps.logger.info({ created: r.created, dropped: r.dropped }, 'log partitions maintained');
    }
    for (const h of r.held) {
      this.deps.logger.warn(
        { partition: h.name, unsettled: h.unsettled },
        'expired log partition kept: it still holds deliveries that are not settled',
      );
    }
    return r;
  }

  /**
   * `hookline_log_partitions{table}` and `hookline_log_partitions_expired{table}`, read from the catalog at
   * scrape time (so every process reports them, not only the one that ran the last pass). An expired
   * partition that stays is held by an unsettled delivery (see the warning in the log) or by a failing pass.
   */
  registerMetrics(registry: Registry): void {
    const { pool } = this.deps;
    const { retentionMs } = this.policy;
    new Gauge({
      name: 'hookline_log_partitions',
      help: 'Partitions of the delivery log tables (messages, deliveries, attempts)',
      labelNames: ['table'],
      registers: [registry],
      async collect() {
        try {
          const parts = await readLogPartitions(pool);
          for (const t of LOG_TABLES) this.set({ table: t.name }, parts.filter((p) => p.table === t.name).length);
        } catch {
          // Postgres unreachable: the series keep their last values rather than failing the scrape.
        }
      },
    });
    new Gauge({
      name: 'hookline_log_partitions_expired',
      help: 'Log partitions past HOOKLINE_LOG_RETENTION_DAYS still present: held by unsettled deliveries, or not dropped yet',
      labelNames: ['table'],
      registers: [registry],
      async collect() {
        try {
          const cutoff = Date.now() - retentionMs;
          const parts = await readLogPartitions(pool);
          for (const t of LOG_TABLES) this.set({ table: t.name }, parts.filter((p) => p.table === t.name && p.toMs <= cutoff).length);
        } catch {
          // as above
        }
      },
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }
}
