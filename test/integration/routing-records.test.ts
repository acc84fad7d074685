/**
 * The two reads the hot path skips, proven against a real Postgres: the router records a batch only if
 * the subscriptions it was routed with are still current (no separate version query), and the dispatcher
 * re-reads a subscription only when its version moved (no subscription read per batch).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadDispatchWork, SubscriptionCache } from '../../services/dispatcher/storage/dispatch-work.js';
import { markSending } from '../../services/dispatcher/storage/dispatcher-processes.js';
import { AsyncCommitSession, flushWal } from '../../shared/db/async-commit.js';
import { recordFanOut } from '../../shared/db/deliveries.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Queryable } from '../../shared/db/queryable.js';
import { latestSubscriptionVersion, updateSubscription } from '../../shared/db/subscriptions.js';
import { deliveryId, newId } from '../../shared/ids.js';
import { insertWebhookRow, migratedDatabase } from '../helpers/isolated.js';

let pool: Pool;
let drop: (() => Promise<void>) | undefined;
let seq = 0;

async function subscription(url = 'http://127.0.0.1:9/a') {
  return insertWebhookRow(pool, { url });
}

function batch(sub: string) {
  const message = { id: newId('msg'), tenant: 't', topic: 'a.b', streamSeq: ++seq, publishedAt: new Date() };
  const delivery = { id: deliveryId(message.id, sub), messageId: message.id, subscriptionId: sub, tenant: 't', streamSeq: message.streamSeq };
  return { message, delivery };
}

async function count(table: 'messages' | 'deliveries', id: string) {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1`, [id]);
  return rows[0].n as number;
}

/** The real pool, with the text of every statement it runs written down. */
function recording(): { db: Queryable; statements: string[] } {
  const statements: string[] = [];
  const db = {
    query: (q: string | { text: string }, values?: unknown[]) => {
      statements.push(typeof q === 'string' ? q : q.text);
      return pool.query(q as never, values as never);
    },
  } as unknown as Queryable;
  return { db, statements };
}

beforeAll(async () => {
  ({ pool, drop } = await migratedDatabase());
});

afterAll(async () => {
  await drop?.();
});

describe('recordFanOut', () => {
  it('when routed with the current subscriptions, then the message and delivery are written', async () => {
    const sub = await subscription();
    const { message, delivery } = batch(sub.id);
    const version = await latestSubscriptionVersion(pool);
    expect(await recordFanOut(pool, [message], [delivery], version)).toBeUndefined();
    expect(await count('messages', message.id)).toBe(1);
    expect(await count('deliveries', delivery.id)).toBe(1);
  });

  it('when a subscription changed after the index was loaded, then nothing is written and the newer version is returned', async () => {
    const sub = await subscription();
    const stale = await latestSubscriptionVersion(pool);
    const added = await subscription();
    const { message, delivery } = batch(sub.id);
    expect(await recordFanOut(pool, [message], [delivery], stale)).toBe(added.version);
    expect(await count('messages', message.id)).toBe(0);
    expect(await count('deliveries', delivery.id)).toBe(0);
    // Routed again with the index brought up to date, it is written.
    expect(await recordFanOut(pool, [message], [delivery], added.version)).toBeUndefined();
    expect(await count('deliveries', delivery.id)).toBe(1);
  });
});

describe('recordFanOut without waiting for the disk', () => {
  it('when written through the asynchronous-commit session, then the rows are visible to other sessions at once, flushWal runs, and the connection never returns to the pool with the setting on', async () => {
    const sub = await subscription();
    const { message, delivery } = batch(sub.id);
    const session = new AsyncCommitSession(pool);
    expect(await recordFanOut(session, [message], [delivery], Number.MAX_SAFE_INTEGER)).toBeUndefined();
    const setting = await session.query({ text: 'SHOW synchronous_commit' });
    expect(setting.rows[0].synchronous_commit).toBe('off');
    // Another session sees the commit without any flush in between.
    expect(await count('deliveries', delivery.id)).toBe(1);
    await flushWal(pool);
    await session.close();
    // Every connection the pool hands out now commits synchronously (the session's was closed, not returned).
    const clients = await Promise.all([1, 2, 3, 4].map(() => pool.connect()));
    try {
      for (const c of clients) expect((await c.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on');
    } finally {
      clients.forEach((c) => c.release());
    }
  });

  it('when its connection is lost, then the next statement opens another', async () => {
    const session = new AsyncCommitSession(pool);
    const pid = (await session.query({ text: 'SELECT pg_backend_pid() AS pid' })).rows[0].pid as number;
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    // The loss shows as an error event on the connection or as the next statement failing, as timing has it.
    await session.query({ text: 'SELECT 1' }).catch(() => undefined);
    const again = (await session.query({ text: 'SELECT pg_backend_pid() AS pid' })).rows[0].pid as number;
    expect(again).not.toBe(pid);
    await session.close();
  });
});

describe('markSending', () => {
  it('when a delivery row is missing or already holds the attempt, then it is not marked, and only the marked ones are returned', async () => {
    const sub = await subscription();
    const fresh = batch(sub.id);
    const done = batch(sub.id);
    for (const b of [fresh, done]) await recordFanOut(pool, [b.message], [b.delivery], Number.MAX_SAFE_INTEGER);
    await pool.query(`UPDATE deliveries SET attempt_count = 1, status = 'succeeded' WHERE id = $1`, [done.delivery.id]);
    const missing = deliveryId(newId('msg'), sub.id);
    const marked = await markSending(pool, 'p1', [
      { deliveryId: fresh.delivery.id, n: 1 },
      { deliveryId: done.delivery.id, n: 1 },
      { deliveryId: missing, n: 1 },
    ]);
    expect([...marked]).toEqual([fresh.delivery.id]);
    const { rows } = await pool.query('SELECT id, sending_n, sending_by FROM deliveries WHERE id = ANY($1) ORDER BY id', [[fresh.delivery.id, done.delivery.id]]);
    expect(rows.find((r) => r.id === fresh.delivery.id)).toMatchObject({ sending_n: 1, sending_by: 'p1' });
    expect(rows.find((r) => r.id === done.delivery.id)).toMatchObject({ sending_n: null });
  });
});

describe('the broker\'s connections', () => {
  it('when a named statement runs, then it is planned with its actual arrays, never with a cached generic plan', async () => {
    const { rows } = await pool.query('SHOW plan_cache_mode');
    expect(rows[0].plan_cache_mode).toBe('force_custom_plan');
  });
});

describe('loadDispatchWork with a subscription cache', () => {
  it('when a subscription is unchanged, then later batches do not read it again; when it changes, then the next batch sees the change', async () => {
    const sub = await subscription('http://127.0.0.1:9/before');
    const first = batch(sub.id);
    const second = batch(sub.id);
    const third = batch(sub.id);
    for (const b of [first, second, third]) {
      await recordFanOut(pool, [b.message], [b.delivery], Number.MAX_SAFE_INTEGER);
    }
    const cache = new SubscriptionCache();
    const { db, statements } = recording();

    const a = await loadDispatchWork(db, [first.delivery.id], cache);
    expect(a.get(first.delivery.id)?.subscription.url).toBe('http://127.0.0.1:9/before');
    expect(statements).toHaveLength(2);

    const b = await loadDispatchWork(db, [second.delivery.id], cache);
    expect(b.get(second.delivery.id)?.subscription.url).toBe('http://127.0.0.1:9/before');
    expect(statements).toHaveLength(3);

    await updateSubscription(pool, 't', sub.id, { url: 'http://127.0.0.1:9/after' });
    const c = await loadDispatchWork(db, [third.delivery.id], cache);
    expect(c.get(third.delivery.id)?.subscription.url).toBe('http://127.0.0.1:9/after');
    expect(statements).toHaveLength(5);
  });
});
