import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listDeliveries, recordFanOut } from '../../shared/db/deliveries.js';
import { createLogPartition, partitionBound, partitionName } from '../../shared/db/log-partitions.js';
import type { Pool } from '../../shared/db/pool.js';
import { deliveryId, newId } from '../../shared/ids.js';
import { migratedDatabase } from '../helpers/isolated.js';

// migrations/0011_lean_delivery_writes.sql: room on deliveries pages for the dispatcher's mark where asked for,
// so that it stays a HOT update, and a listing index without the volatile status.
describe('lean delivery writes', () => {
  let pool: Pool;
  let drop: () => Promise<void>;
  const tenant = 't_lean';
  let subscriptionId: string;

  beforeAll(async () => {
    ({ pool, drop } = await migratedDatabase());
    subscriptionId = newId('sub');
    await pool.query(
      `INSERT INTO subscriptions (id, tenant, owner, type, topic, url, retry, timeout_ms)
       VALUES ($1, $2, 'o', 'webhook', 'lean.t', 'http://127.0.0.1:9/x', '{}', 1000)`,
      [subscriptionId, tenant],
    );
  });
  afterAll(async () => drop());

  const fillfactorOf = async (name: string) =>
    (await pool.query<{ o: string[] | null }>('SELECT reloptions AS o FROM pg_class WHERE relname = $1', [name])).rows[0]?.o;

  it('fills deliveries partitions by default, and leaves the room hookline.deliveries_fillfactor asks for', async () => {
    const { rows } = await pool.query<{ name: string; o: string[] | null }>(
      `SELECT c.relname AS name, c.reloptions AS o FROM pg_partition_tree('deliveries') t JOIN pg_class c ON c.oid = t.relid
       WHERE t.isleaf`,
    );
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect(r.o).toBeNull();

    const client = await pool.connect();
    const create = async (table: 'deliveries' | 'attempts', from: number) =>
      createLogPartition(
        client,
        { table, name: partitionName(table, from), from: partitionBound('dlv', from), to: partitionBound('dlv', from + 86_400_000) },
        5000,
      );
    const day = (n: number) => Date.UTC(2031, 0, n);
    try {
      await client.query(`SET hookline.deliveries_fillfactor = '50'`);
      await create('deliveries', day(1));
      await create('attempts', day(1));
      // A value out of range never keeps a partition from being made.
      await client.query(`SET hookline.deliveries_fillfactor = '5'`);
      await create('deliveries', day(2));
    } finally {
      await client.query('RESET hookline.deliveries_fillfactor');
      client.release();
    }
    expect(await fillfactorOf(partitionName('deliveries', day(1)))).toEqual(['fillfactor=50']);
    // Attempts are only ever inserted: their pages are always filled.
    expect(await fillfactorOf(partitionName('attempts', day(1)))).toBeNull();
    expect(await fillfactorOf(partitionName('deliveries', day(2)))).toBeNull();
  });

  it('with room, keeps the mark before a send a HOT update, and lists by status in order without status in the index', async () => {
    const messages = Array.from({ length: 30 }, () => ({ id: newId('msg'), tenant, topic: 'lean.t', streamSeq: 1, publishedAt: new Date() }));
    messages.forEach((m, i) => (m.streamSeq = i + 1));
    const deliveries = messages.map((m) => ({ id: deliveryId(m.id, subscriptionId), messageId: m.id, subscriptionId, tenant, streamSeq: m.streamSeq }));

    // One connection for the writes and the statistics they report (a backend's own, flushed below).
    const client = await pool.connect();
    await client.query(`SET hookline.deliveries_fillfactor = '50'`);
    await client.query(`SELECT hookline_log_partition_storage(relid) FROM pg_partition_tree('deliveries') WHERE isleaf`);
    await client.query('RESET hookline.deliveries_fillfactor');
    expect(await recordFanOut(client, messages, deliveries, Number.MAX_SAFE_INTEGER)).toBeUndefined();
    const hot = async () =>
      Number(
        (
          await client.query<{ hot: string }>(
            `SELECT coalesce(sum(n_tup_hot_upd), 0) AS hot FROM pg_stat_user_tables WHERE relid IN
               (SELECT relid FROM pg_partition_tree('deliveries') WHERE isleaf)`,
          )
        ).rows[0].hot,
      );
    // The mark the dispatcher writes just before a request goes out (services/dispatcher/storage/dispatcher-processes.ts).
    let before: number;
    try {
      before = await hot();
      await client.query(`UPDATE deliveries SET sending_n = 1, sending_since = now(), sending_by = 'p' WHERE id = ANY($1::text[])`, [
        deliveries.map((d) => d.id),
      ]);
      await client.query('SELECT pg_stat_force_next_flush()');
      // Nearly every mark found room on its page and wrote no index entry (a full page, as before 0011,
      // leaves none: the mark moves the row). The last rows of a page written in one statement may not fit.
      expect((await hot()) - before).toBeGreaterThanOrEqual(Math.ceil(0.8 * deliveries.length));
      // A third dead, the rest succeeded.
      await client.query(`UPDATE deliveries SET status = CASE WHEN stream_seq % 3 = 0 THEN 'dead' ELSE 'succeeded' END,
        attempt_count = 1, sending_n = NULL WHERE id = ANY($1::text[])`, [deliveries.map((d) => d.id)]);
    } finally {
      client.release();
    }
    const dead = await listDeliveries(pool, { subscriptionId, status: 'dead', limit: 100 });
    // Listing order is (created_at, id): one statement created them all, so id order.
    const idsWhere = (keep: (seq: number) => boolean) => deliveries.filter((d) => keep(d.streamSeq)).map((d) => d.id).sort();
    expect(dead.map((d) => d.id)).toEqual(idsWhere((seq) => seq % 3 === 0));
    const firstPage = await listDeliveries(pool, { subscriptionId, status: 'succeeded', limit: 5 });
    const last = firstPage[firstPage.length - 1]!;
    const next = await listDeliveries(pool, {
      subscriptionId,
      status: 'succeeded',
      limit: 100,
      after: { createdAt: last.createdAt.toISOString(), id: last.id },
    });
    expect([...firstPage, ...next].map((d) => d.id)).toEqual(idsWhere((seq) => seq % 3 !== 0));
    const indexes = await pool.query<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE tablename = 'deliveries'`);
    const listing = indexes.rows.find((r) => /\(subscription_id, created_at, id\)$/.test(r.def));
    expect(listing).toBeDefined();
  });
});
