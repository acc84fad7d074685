/**
 * Migration 0010 on an installation that holds data: a database migrated to 0009 and filled through that
 * schema (delivery ids as they were then: dlv_ + 26 hash characters) is migrated to the partitioned log, and
 * a broker started on it still serves every row through the API and keeps delivering.
 * The broker is started by the suite, not the kit: it must run on the database the suite migrated and filled
 * itself, which the kit's broker (a fresh database it migrates at start) cannot be.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultMigrationsDir, migrate } from '../../shared/db/migrate.js';
import { createPool, ensureDatabase, type Pool } from '../../shared/db/pool.js';
import { deliveryId, newId } from '../../shared/ids.js';
import { insertWebhookRow, isolatedNames } from '../helpers/isolated.js';
import { publish, withReceivers } from '../helpers/kit.js';
import type { Receiver } from '../helpers/receiver.js';
import { startTestBroker, type TestBroker } from '../helpers/test-broker.js';
import { waitFor } from '../helpers/wait-for.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A delivery id as shared/ids.ts made it before 0010: dlv_ and 26 characters of sha256(message:subscription). */
function legacyDeliveryId(messageId: string, subscriptionId: string): string {
  const digest = createHash('sha256').update(`${messageId}:${subscriptionId}`).digest();
  let bits = '';
  for (const b of digest) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < 26; i++) out += CROCKFORD[parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
  return `dlv_${out}`;
}

const names = isolatedNames();
const startReceiver = withReceivers();
let pool: Pool;
let hl: TestBroker | undefined;
let receiver: Receiver;
let admin: string;
let subscriptionId: string;
const HOUR = 3_600_000;
const MESSAGES = 300;
/** Per message: its id, the delivery's pre-0010 id, its state and attempt count. */
const seeded: { m: string; legacy: string; status: string; attempts: number }[] = [];
let countsBefore: unknown[];

beforeAll(async () => {
  receiver = await startReceiver();
  await ensureDatabase(names.databaseUrl);
  pool = await createPool(names.databaseUrl, 4);
  // The schema as it was: every migration before 0010.
  const upTo0009 = await mkdtemp(path.join(tmpdir(), 'hookline-0009-'));
  const all = await defaultMigrationsDir();
  for (const f of await readdir(all)) if (/^000\d_.+\.sql$/.test(f)) await cp(path.join(all, f), path.join(upTo0009, f));
  expect(await migrate(pool, upTo0009)).toContain('0009_portal_links.sql');
  await rm(upTo0009, { recursive: true });

  const sub = await insertWebhookRow(pool, {
    tenant: 'default',
    owner: 'tester',
    topic: 'orders.*',
    url: `${receiver.url}/hook`,
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    timeoutMs: 5000,
  });
  subscriptionId = sub.id;

  // Messages over the last day, through the previous schema's tables, each with a delivery and its attempts.
  const statuses = ['succeeded', 'dead', 'succeeded', 'failed'] as const;
  const start = Date.now() - 24 * HOUR;
  for (let i = 0; i < MESSAGES; i++) {
    const at = start + i * ((24 * HOUR) / MESSAGES);
    const m = newId('msg', at);
    const status = statuses[i % statuses.length];
    const attempts = status === 'succeeded' ? 1 : status === 'dead' ? 3 : 2;
    seeded.push({ m, legacy: legacyDeliveryId(m, subscriptionId), status, attempts });
  }
  await pool.query(
    `INSERT INTO messages (id, tenant, topic, stream_seq, published_at)
     SELECT id, 'default', 'orders.created', seq, published_at
     FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS u(id, seq, published_at)`,
    [seeded.map((s) => s.m), seeded.map((_, i) => i + 1), seeded.map((s) => new Date(decode(s.m)))],
  );
  await pool.query(
    `INSERT INTO deliveries (id, message_id, subscription_id, tenant, stream_seq, status, attempt_count, last_status_code,
       next_attempt_at, parked_reason)
     SELECT id, m, $3, 'default', seq, status, n, CASE WHEN status = 'succeeded' THEN 200 ELSE 500 END,
       CASE WHEN status = 'failed' THEN now() + interval '1 hour' END, CASE WHEN status = 'failed' THEN 'retry' END
     FROM unnest($1::text[], $2::text[], $4::text[], $5::int[], $6::bigint[]) AS u(id, m, status, n, seq)`,
    [
      seeded.map((s) => s.legacy),
      seeded.map((s) => s.m),
      subscriptionId,
      seeded.map((s) => s.status),
      seeded.map((s) => s.attempts),
      seeded.map((_, i) => i + 1),
    ],
  );
  await pool.query(
    `INSERT INTO attempts (delivery_id, n, started_at, duration_ms, status_code, outcome)
     SELECT d.id, g.n, now() - interval '1 hour' + g.n * interval '1 second', 20,
       CASE WHEN d.status = 'succeeded' THEN 200 ELSE 500 END,
       CASE WHEN d.status = 'succeeded' THEN 'succeeded' ELSE 'failed' END
     FROM deliveries d, generate_series(1, d.attempt_count) AS g(n)`,
  );
  // The breaker's probe names a delivery by id too.
  await pool.query(`UPDATE endpoint_health SET probe_delivery_id = $1 WHERE subscription_id = $2`, [seeded[3].legacy, subscriptionId]);
  countsBefore = (await pool.query('SELECT subscription_id, status, sum(n)::int AS n FROM delivery_counts GROUP BY 1, 2 ORDER BY 2')).rows;
}, 60_000);

/** The ULID time of a message id, in milliseconds. */
function decode(id: string): number {
  let ms = 0;
  for (const c of id.slice(4, 14)) ms = ms * 32 + CROCKFORD.indexOf(c);
  return ms;
}

afterAll(async () => {
  await pool?.end();
  if (hl) await hl.close();
});

describe('migration 0010 on a populated database', () => {
  it('when 0010 runs, then every message, delivery and attempt is kept, under the delivery ids deliveryId makes now', async () => {
    // Later migrations run too; 0010 is the first of them.
    expect((await migrate(pool))[0]).toBe('0010_log_partitions.sql');
    const { rows: parents } = await pool.query(
      `SELECT relname FROM pg_class WHERE relkind = 'p' AND relname IN ('messages', 'deliveries', 'attempts') ORDER BY 1`,
    );
    expect(parents.map((r) => r.relname)).toEqual(['attempts', 'deliveries', 'messages']);
    const { rows } = await pool.query(
      `SELECT d.id, d.message_id, d.status, (SELECT count(*)::int FROM attempts a WHERE a.delivery_id = d.id) AS attempts
       FROM deliveries d ORDER BY d.message_id`,
    );
    expect(rows).toEqual(
      seeded.map((s) => ({ id: deliveryId(s.m, subscriptionId), message_id: s.m, status: s.status, attempts: s.attempts })),
    );
    expect((await pool.query('SELECT count(*)::int AS n FROM messages')).rows[0].n).toBe(MESSAGES);
    const probe = await pool.query('SELECT probe_delivery_id FROM endpoint_health WHERE subscription_id = $1', [subscriptionId]);
    expect(probe.rows[0].probe_delivery_id).toBe(deliveryId(seeded[3].m, subscriptionId));
    // The statistics counted these rows once, before; copying them did not count them again.
    const counts = (await pool.query('SELECT subscription_id, status, sum(n)::int AS n FROM delivery_counts GROUP BY 1, 2 ORDER BY 2')).rows;
    expect(counts).toEqual(countsBefore);
    // A lookup by id reads one partition.
    const plan = await pool.query(`EXPLAIN SELECT * FROM deliveries WHERE id = $1`, [deliveryId(seeded[0].m, subscriptionId)]);
    expect(plan.rows.filter((r) => /Scan/.test(r['QUERY PLAN']))).toHaveLength(1);
  });

  it('when a broker starts on the migrated database, then the API serves the old rows and new messages are delivered', async () => {
    hl = await startTestBroker({}, { reuse: { ...names, secret: 'x'.repeat(64) } });
    admin = hl.token('admin');
    const auth = { authorization: `Bearer ${admin}` };

    const dead = seeded[1];
    const msg = await hl.http().get(`/v1/messages/${dead.m}`).set(auth);
    expect(msg.status).toBe(200);
    expect(msg.body.deliveries).toEqual([
      expect.objectContaining({ id: deliveryId(dead.m, subscriptionId), status: 'dead', attemptCount: 3 }),
    ]);
    const delivery = await hl.http().get(`/v1/deliveries/${deliveryId(dead.m, subscriptionId)}`).set(auth);
    expect(delivery.status).toBe(200);
    expect(delivery.body.attempts.map((a: { n: number; statusCode: number }) => [a.n, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
    ]);
    const list = await hl.http().get(`/v1/subscriptions/${subscriptionId}/deliveries?status=dead&limit=100`).set(auth);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(seeded.filter((s) => s.status === 'dead').length);
    const stats = await hl.http().get(`/v1/subscriptions/${subscriptionId}/stats`).set(auth);
    expect(stats.body.counts).toEqual(expect.objectContaining({ succeeded: MESSAGES / 2, dead: MESSAGES / 4, failed: MESSAGES / 4 }));

    // The broker keeps delivering: a new message, to the subscription that predates the migration.
    const published = await publish(hl, admin, 'orders.created', { order: 1 });
    const got = await waitFor(() => receiver.requests.find((r) => r.headers['webhook-id'] === published.id), 'the webhook');
    expect(JSON.parse(got.body)).toEqual(expect.objectContaining({ id: published.id, data: { order: 1 } }));
    const settled = await waitFor(async () => {
      const r = await hl!.http().get(`/v1/messages/${published.id}`).set(auth);
      return r.body.settled === true ? r.body : undefined;
    }, 'the new delivery settled');
    expect(settled.deliveries[0]).toEqual(expect.objectContaining({ id: deliveryId(published.id, subscriptionId), status: 'succeeded' }));

    // A legacy delivery still retrying goes on: retried now, its message is gone from the (new) stream, so it
    // ends visibly dead rather than waiting forever.
    const retrying = seeded[3];
    const retried = await hl.http().post(`/v1/deliveries/${deliveryId(retrying.m, subscriptionId)}/retry`).set(auth);
    expect(retried.status).toBeLessThan(300);
    await waitFor(async () => {
      const r = await hl!.http().get(`/v1/deliveries/${deliveryId(retrying.m, subscriptionId)}`).set(auth);
      return r.body.status === 'dead' && r.body.attempts.length === 3;
    }, 'the retried legacy delivery to end');
  }, 60_000);
});
