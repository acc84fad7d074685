/**
 * Retention of the delivery log against a real Postgres: partitions are made ahead and dropped whole once
 * expired, a partition holding an unsettled delivery is kept until it settles, and a pass killed at any step
 * leaves a log the next pass completes. Time is moved by the pass's clock, not by waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readLogPartitions } from '../../shared/db/log-partitions.js';
import type { Pool } from '../../shared/db/pool.js';
import { deliveryId, newId } from '../../shared/ids.js';
import { aheadMs, maintainLogPartitions, type LogRetentionPolicy } from '../../shared/log-retention.js';
import { insertWebhookRow, migratedDatabase } from '../helpers/isolated.js';

const HOUR = 3_600_000;
const policy: LogRetentionPolicy = { retentionMs: 6 * HOUR, partitionMs: HOUR };

let pool: Pool;
let drop: (() => Promise<void>) | undefined;
let subscriptionId: string;

beforeAll(async () => {
  ({ pool, drop } = await migratedDatabase(policy));
  const sub = await insertWebhookRow(pool);
  subscriptionId = sub.id;
});

afterAll(async () => {
  await drop?.();
});

let seq = 0;
/** A message published at `at`, its delivery in `status` and one attempt, as the router and dispatcher write them. */
async function record(at: number, status: 'pending' | 'failed' | 'succeeded' | 'dead') {
  const m = newId('msg', at);
  const d = deliveryId(m, subscriptionId);
  seq += 1;
  await pool.query('INSERT INTO messages (id, tenant, topic, stream_seq, published_at) VALUES ($1, $2, $3, $4, $5)', [
    m,
    't',
    'a.b',
    seq,
    new Date(at),
  ]);
  await pool.query(
    `INSERT INTO deliveries (id, message_id, subscription_id, tenant, stream_seq, status, attempt_count)
     VALUES ($1, $2, $3, 't', $4, $5, 1)`,
    [d, m, subscriptionId, seq, status],
  );
  await pool.query(
    `INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code) VALUES ($1, 1, $2, 5, $3)`,
    [d, new Date(at), status === 'succeeded' ? 200 : 500],
  );
  return { m, d };
}

async function rowsOf({ m, d }: { m: string; d: string }) {
  const { rows } = await pool.query(
    `SELECT (SELECT count(*)::int FROM messages WHERE id = $1) AS messages,
       (SELECT count(*)::int FROM deliveries WHERE id = $2) AS deliveries,
       (SELECT count(*)::int FROM attempts WHERE delivery_id = $2) AS attempts`,
    [m, d],
  );
  return rows[0] as { messages: number; deliveries: number; attempts: number };
}

/** Every table is covered without a gap from `since` (the retention's cut-off) to `until`. */
async function expectContiguous(since: number, until: number) {
  const parts = await readLogPartitions(pool);
  for (const table of ['messages', 'deliveries', 'attempts']) {
    const mine = parts.filter((p) => p.table === table && p.toMs > since).sort((a, b) => a.toMs - b.toMs);
    expect(mine[0].fromMs).toBeLessThanOrEqual(since);
    expect(mine.length).toBeGreaterThan(0);
    for (let i = 1; i < mine.length; i++) expect(mine[i].from).toBe(mine[i - 1].to);
    expect(mine[mine.length - 1].toMs).toBeGreaterThanOrEqual(until);
  }
}

describe('log partitions', () => {
  it('when a pass runs, then every log table has partitions up to two widths ahead, on whole hours', async () => {
    const now = Date.now();
    const r = await maintainLogPartitions(pool, policy, { now: () => now });
    expect(r.ran).toBe(true);
    await expectContiguous(now, now + aheadMs(policy));
    const parts = await readLogPartitions(pool);
    const deliveries = parts.filter((p) => p.table === 'deliveries' && p.from !== null);
    // After the bridge from the migration's cut, bounds fall on the hour and the three tables share them.
    for (const p of deliveries.slice(1)) expect(p.fromMs % HOUR).toBe(0);
    const bounds = (t: string) => parts.filter((p) => p.table === t).map((p) => p.toMs);
    expect(bounds('attempts')).toEqual(bounds('deliveries'));
    expect(bounds('messages')).toEqual(bounds('deliveries'));
  });

  it('when partitions expire, then settled ones are dropped whole and one holding an unsettled delivery is kept until it settles', async () => {
    const t0 = Date.now();
    const settled = await record(t0, 'succeeded');
    const dead = await record(t0 + 1, 'dead');
    const retrying = await record(t0 + 2, 'failed');
    // A later hour, all settled: dropped even though an older partition is held.
    const later = await record(t0 + HOUR, 'succeeded');
    await maintainLogPartitions(pool, policy, { now: () => t0 });

    const expiredAt = t0 + 2 * HOUR + policy.retentionMs + 1;
    const r = await maintainLogPartitions(pool, policy, { now: () => expiredAt });
    expect(r.held).toEqual([{ name: expect.stringMatching(/^deliveries_/), unsettled: 1 }]);
    expect(await rowsOf(retrying)).toEqual({ messages: 1, deliveries: 1, attempts: 1 });
    expect(await rowsOf(settled)).toEqual({ messages: 1, deliveries: 1, attempts: 1 });
    expect(await rowsOf(later)).toEqual({ messages: 0, deliveries: 0, attempts: 0 });
    expect(r.dropped.some((n) => n.startsWith('deliveries_'))).toBe(true);
    await expectContiguous(expiredAt - policy.retentionMs, expiredAt + aheadMs(policy));

    // Retries are bounded by the policy: the delivery ends (here: dead) and its partition goes at the next pass.
    await pool.query(`UPDATE deliveries SET status = 'dead' WHERE id = $1`, [retrying.d]);
    const r2 = await maintainLogPartitions(pool, policy, { now: () => expiredAt });
    expect(r2.held).toEqual([]);
    for (const x of [settled, dead, retrying]) expect(await rowsOf(x)).toEqual({ messages: 0, deliveries: 0, attempts: 0 });
    const left = await readLogPartitions(pool);
    expect(left.filter((p) => p.toMs <= expiredAt - policy.retentionMs)).toEqual([]);
  });

  it('when a pass is killed at any step, then the log stays consistent and the next pass finishes the work', async () => {
    let clock = Date.now() + 12 * HOUR;
    for (let killAt = 0; killAt < 12; killAt++) {
      clock += 3 * HOUR;
      const rec = await record(clock - policy.retentionMs - 2 * HOUR, 'succeeded').catch(() => undefined);
      let steps = 0;
      const killer = await pool.connect();
      const pass = maintainLogPartitions(pool, policy, {
        now: () => clock,
        beforeStep: async (_step, pid) => {
          if (steps++ === killAt) await killer.query('SELECT pg_terminate_backend($1)', [pid]);
        },
      });
      const outcome = await pass.then(
        () => 'completed',
        () => 'killed',
      );
      killer.release();
      if (steps > killAt) expect(outcome).toBe('killed');
      // The killed session's advisory lock went with it: the next pass runs and completes.
      const r = await maintainLogPartitions(pool, policy, { now: () => clock });
      expect(r.ran).toBe(true);
      await expectContiguous(clock - policy.retentionMs, clock + aheadMs(policy));
      const left = await readLogPartitions(pool);
      expect(left.filter((p) => p.toMs <= clock - policy.retentionMs)).toEqual([]);
      if (rec) expect(await rowsOf(rec)).toEqual({ messages: 0, deliveries: 0, attempts: 0 });
      // Nothing detached and left behind: every hookline table of the log is a partition of its parent.
      const { rows } = await pool.query(
        `SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relname ~ '^(messages|deliveries|attempts)_'
           AND NOT c.relispartition`,
      );
      expect(rows).toEqual([]);
    }
  });

  it('when a pass is under way, then a second one started meanwhile does nothing', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    // Past every partition the tests above made, so the pass has partitions to create.
    const clock = Date.now() + 60 * HOUR;
    const first = maintainLogPartitions(pool, policy, {
      now: () => clock,
      beforeStep: async () => {
        entered();
        await gate;
      },
    });
    await inside;
    const second = await maintainLogPartitions(pool, policy, { now: () => clock });
    expect(second).toEqual({ ran: false, created: [], dropped: [], held: [] });
    release();
    expect((await first).ran).toBe(true);
  });
});
