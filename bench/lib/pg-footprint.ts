import type pg from 'pg';

/** The tables a delivery writes to: its own rows and the rollups the triggers of 0008_stats.sql keep. */
export const LOG_TABLES = ['messages', 'deliveries', 'attempts'] as const;
export const ROLLUP_TABLES = ['delivery_counts', 'subscription_minutes', 'tenant_minutes'] as const;

export interface TableFootprint {
  /** Live rows (n_live_tup) and the counters since the server started. */
  rows: number;
  inserts: number;
  updates: number;
  hotUpdates: number;
  deadTuples: number;
  /** Main fork of the table (and of its partitions, if partitioned), bytes. */
  heapBytes: number;
  /** Every index of the table (and of its partitions), bytes. */
  indexBytes: number;
  /** TOAST, free space map and visibility map. */
  otherBytes: number;
  /** Bytes of each index by name (partition indexes are summed under their parent's name when attached). */
  indexes: Record<string, number>;
}

export interface Footprint {
  walLsn: string;
  tables: Record<string, TableFootprint>;
}

/** $1 itself when it is a plain table, its leaf partitions when it is partitioned. */
const LEAVES = `SELECT $1::regclass AS relid WHERE (SELECT relkind FROM pg_class WHERE oid = $1::regclass) <> 'p'
  UNION ALL SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf`;

/**
 * Sizes and write counters of `tables`, summed over partitions when a table is partitioned (the figures are
 * the same whatever the layout). Counters come from pg_stat_user_tables, which backends report when they go
 * idle: read it a couple of seconds after the load stops.
 */
export async function footprint(db: pg.Pool | pg.Client, tables: readonly string[]): Promise<Footprint> {
  const wal = await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const out: Footprint = { walLsn: wal.rows[0]!.lsn, tables: {} };
  for (const table of tables) {
    // The table itself and, if partitioned, every leaf under it.
    const { rows } = await db.query(
      `WITH rels AS (${LEAVES})
       SELECT coalesce(sum(s.n_live_tup), 0)::bigint AS rows, coalesce(sum(s.n_tup_ins), 0)::bigint AS inserts,
         coalesce(sum(s.n_tup_upd), 0)::bigint AS updates, coalesce(sum(s.n_tup_hot_upd), 0)::bigint AS hot,
         coalesce(sum(s.n_dead_tup), 0)::bigint AS dead,
         coalesce(sum(pg_relation_size(r.relid)), 0)::bigint AS heap,
         coalesce(sum(pg_indexes_size(r.relid)), 0)::bigint AS idx,
         coalesce(sum(pg_total_relation_size(r.relid) - pg_relation_size(r.relid) - pg_indexes_size(r.relid)), 0)::bigint AS other
       FROM rels r LEFT JOIN pg_stat_user_tables s ON s.relid = r.relid`,
      [table],
    );
    const idx = await db.query(
      `SELECT coalesce(pi.relname, i.relname) AS name, sum(pg_relation_size(i.oid))::bigint AS bytes
       FROM (${LEAVES}) t
       JOIN pg_index x ON x.indrelid = t.relid
       JOIN pg_class i ON i.oid = x.indexrelid
       LEFT JOIN LATERAL (
         SELECT c.relname FROM pg_partition_ancestors(i.oid) a JOIN pg_class c ON c.oid = a.relid
         WHERE a.relid <> i.oid ORDER BY c.relname LIMIT 1
       ) pi ON true
       GROUP BY 1 ORDER BY 1`,
      [table],
    );
    const r = rows[0];
    out.tables[table] = {
      rows: Number(r.rows),
      inserts: Number(r.inserts),
      updates: Number(r.updates),
      hotUpdates: Number(r.hot),
      deadTuples: Number(r.dead),
      heapBytes: Number(r.heap),
      indexBytes: Number(r.idx),
      otherBytes: Number(r.other),
      indexes: Object.fromEntries(idx.rows.map((x) => [x.name, Number(x.bytes)])),
    };
  }
  return out;
}

/** WAL bytes between two LSNs. */
export async function walBytesBetween(db: pg.Pool | pg.Client, from: string, to: string): Promise<number> {
  const { rows } = await db.query('SELECT pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::bigint AS n', [from, to]);
  return Number(rows[0].n);
}

/** after − before, table by table and field by field (indexes included). */
export function footprintDelta(before: Footprint, after: Footprint): Record<string, TableFootprint> {
  const out: Record<string, TableFootprint> = {};
  for (const [name, a] of Object.entries(after.tables)) {
    const b = before.tables[name];
    const indexes: Record<string, number> = {};
    for (const [i, n] of Object.entries(a.indexes)) indexes[i] = n - (b?.indexes[i] ?? 0);
    out[name] = {
      rows: a.rows - (b?.rows ?? 0),
      inserts: a.inserts - (b?.inserts ?? 0),
      updates: a.updates - (b?.updates ?? 0),
      hotUpdates: a.hotUpdates - (b?.hotUpdates ?? 0),
      deadTuples: a.deadTuples - (b?.deadTuples ?? 0),
      heapBytes: a.heapBytes - (b?.heapBytes ?? 0),
      indexBytes: a.indexBytes - (b?.indexBytes ?? 0),
      otherBytes: a.otherBytes - (b?.otherBytes ?? 0),
      indexes,
    };
  }
  return out;
}
