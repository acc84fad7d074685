/**
 * The two reads the hot path skips, proven against a real Postgres: the router records a batch only if
 * the subscriptions it was routed with are still current (no separate version query), and the dispatcher
 * re-reads a subscription only when its version moved (no subscription read per batch).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_RETRY_POLICY } from '../../shared/backoff.js';
import { loadDispatchWork, SubscriptionCache } from '../../services/dispatcher/storage/dispatch-work.js';
import { recordFanOut } from '../../shared/db/deliveries.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Queryable } from '../../shared/db/queryable.js';
import { insertSubscription, latestSubscriptionVersion, updateSubscription } from '../../shared/db/subscriptions.js';
import { deliveryId, newId } from '../../shared/ids.js';
import { migratedDatabase } from '../helpers/isolated.js';

let pool: Pool;
let drop: (() => Promise<void>) | undefined;
let seq = 0;

async function subscription(url = 'http://127.0.0.1:9/a') {
  return insertSubscription(pool, {
    id: newId('sub'),
    tenant: 't',
    owner: 'o',
    type: 'webhook',
    topic: 'a.b',
    url,
    secret: 'whsec_x',
    retry: DEFAULT_RETRY_POLICY,
    timeoutMs: 1000,
    ordered: false,
    filter: null,
    description: null,
    options: {},
  });
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
