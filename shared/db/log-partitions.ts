import type { PoolClient } from 'pg';
import { decodeIdTime, encodeTime } from '../ids.js';

/** A table of the delivery log, partitioned by range of its id (migrations/0010_log_partitions.sql). */
export interface LogTable {
  name: 'messages' | 'deliveries' | 'attempts';
  /** The id prefix its partition bounds carry: the table's own ids, or (attempts) its deliveries'. */
  idPrefix: 'msg' | 'dlv';
}

export const LOG_TABLES: readonly LogTable[] = [
  { name: 'messages', idPrefix: 'msg' },
  { name: 'deliveries', idPrefix: 'dlv' },
  { name: 'attempts', idPrefix: 'dlv' },
];

/** One partition as the catalog holds it; times are the ULID times of its bounds. */
export interface LogPartition {
  table: LogTable['name'];
  name: string;
  /** The lower bound; null for MINVALUE (the partition holding what was on record before 0010). */
  from: string | null;
  to: string;
  fromMs: number;
  toMs: number;
}

const BOUNDS = /FROM \((?:MINVALUE|'([^']*)')\) TO \('([^']*)'\)/;

/** The partitions of the three log tables, oldest first per table. */
export async function readLogPartitions(db: Pick<PoolClient, 'query'>): Promise<LogPartition[]> {
  const { rows } = await db.query<{ parent: string; name: string; bound: string }>(
    `SELECT p.relname AS parent, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE i.inhparent IN ('messages'::regclass, 'deliveries'::regclass, 'attempts'::regclass)`,
  );
  const out: LogPartition[] = [];
  for (const r of rows) {
    const m = BOUNDS.exec(r.bound);
    const toMs = m ? decodeIdTime(m[2]) : undefined;
    // Partitions made by hand with other bounds are left alone.
    if (!m || toMs === undefined) continue;
    const from = m[1] ?? null;
    out.push({
      table: r.parent as LogTable['name'],
      name: r.name,
      from,
      to: m[2],
      fromMs: from === null ? -Infinity : (decodeIdTime(from) ?? -Infinity),
      toMs,
    });
  }
  return out.sort((a, b) => a.table.localeCompare(b.table) || a.toMs - b.toMs);
}

/** A partition bound: the id prefix and the ULID time of `ms`, below every id minted from that millisecond on. */
export function partitionBound(idPrefix: string, ms: number): string {
  return `${idPrefix}_${encodeTime(ms)}`;
}

/** `deliveries_20261126_000000`, with `_mmm` when the bound falls inside a second. */
export function partitionName(table: string, fromMs: number): string {
  const iso = new Date(fromMs).toISOString(); // 2026-11-26T00:00:00.000Z
  const ms = iso.slice(20, 23);
  return `${table}_${iso.slice(0, 10).replaceAll('-', '')}_${iso.slice(11, 19).replaceAll(':', '')}${ms === '000' ? '' : `_${ms}`}`;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * Creates one partition; a no-op if a table of that name exists. Waits at most `lockTimeoutMs` for the
 * parent's lock, so a long transaction on the table delays only this pass, not every writer queued behind it.
 */
export async function createLogPartition(
  db: PoolClient,
  p: { table: string; name: string; from: string; to: string },
  lockTimeoutMs: number,
): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${ident(p.name)} PARTITION OF ${ident(p.table)}
       FOR VALUES FROM (${literal(p.from)}) TO (${literal(p.to)})`,
    );
    // A partition inherits no storage parameters: the table's own (fillfactor) are set on each (0011).
    await db.query(`SELECT hookline_log_partition_storage(${literal(p.name)}::regclass)`);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * Drops a deliveries partition unless it still holds a delivery that is not settled (pending or failed),
 * in one transaction: the partition is locked against writes before it is checked, so no delivery can be
 * retried into it between the check and the drop. Dropping a partition detaches it from its table.
 * @returns how many unsettled deliveries kept it (0: dropped).
 */
export async function dropDeliveriesPartitionIfSettled(db: PoolClient, name: string, lockTimeoutMs: number): Promise<number> {
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
    await db.query(`LOCK TABLE ${ident(name)} IN SHARE MODE`);
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${ident(name)} WHERE status IN ('pending', 'failed')`,
    );
    const unsettled = Number(rows[0].n);
    if (unsettled === 0) {
      await db.query(`ALTER TABLE deliveries DETACH PARTITION ${ident(name)}`);
      await db.query(`DROP TABLE ${ident(name)}`);
    }
    await db.query('COMMIT');
    return unsettled;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Detaches and drops a messages or attempts partition in one transaction. */
export async function dropLogPartition(db: PoolClient, table: string, name: string, lockTimeoutMs: number): Promise<void> {
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
    await db.query(`ALTER TABLE ${ident(table)} DETACH PARTITION ${ident(name)}`);
    await db.query(`DROP TABLE ${ident(name)}`);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
