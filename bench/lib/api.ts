import { request } from 'undici';
import { newId } from '../../shared/ids.js';
import { generateSecret } from '../../shared/signing.js';
import type { Installation } from './broker.js';

/** Calls the broker's API as the installation's admin; throws with the problem body on an unexpected status. */
export async function api<T>(base: string, token: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, expect = 200): Promise<T> {
  const res = await request(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== expect) throw new Error(`${method} ${path} → ${res.statusCode}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Creates webhook subscriptions through the API, `concurrency` at a time; returns their ids in order. */
export async function createSubscriptions(
  base: string,
  token: string,
  specs: { topic: string; url: string; retry?: Record<string, number> }[],
  concurrency = 8,
): Promise<string[]> {
  const ids: string[] = new Array(specs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, specs.length) }, async () => {
      while (next < specs.length) {
        const i = next++;
        const s = await api<{ id: string }>(base, token, 'POST', '/v1/subscriptions', { type: 'webhook', ...specs[i] }, 201);
        ids[i] = s.id;
      }
    }),
  );
  return ids;
}

/** Publishes `count` messages through `/batch` in batches of `batchSize`, `concurrency` batches at a time. */
export async function publishBacklog(
  base: string,
  token: string,
  topic: string,
  count: number,
  payload: (i: number) => unknown,
  { batchSize = 1000, concurrency = 4 } = {},
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + batchSize);
        const messages = [];
        for (let i = from; i < next; i++) messages.push(payload(i));
        await api(base, token, 'POST', `/v1/topics/${topic}/batch`, { messages }, 202);
      }
    }),
  );
}

/**
 * Inserts webhook subscriptions straight into Postgres in multi-row statements (10,000 rows each), the
 * way a migration or restore would: far faster than the API, and it exercises the router's bulk load.
 * Each row gets a fresh version from the sequence, so a running router picks them up on its next batch.
 * @returns milliseconds spent inserting (and analyzing)
 */
export async function insertSubscriptionsDirectly(
  inst: Installation,
  rows: { topic: string; url: string }[],
  tenant = 'default',
): Promise<number> {
  const t0 = performance.now();
  const secret = generateSecret();
  const retry = JSON.stringify({ maxAttempts: 12, initialDelayMs: 5000, maxDelayMs: 21_600_000, multiplier: 3 });
  for (let from = 0; from < rows.length; from += 10_000) {
    const chunk = rows.slice(from, from + 10_000);
    await inst.db.query(
      `INSERT INTO subscriptions (id, tenant, owner, type, topic, url, secret, retry, timeout_ms)
       SELECT u.id, $2, 'bench', 'webhook', u.topic, u.url, $3, $4::jsonb, 10000
       FROM unnest($1::text[], $5::text[], $6::text[]) AS u(id, topic, url)`,
      [chunk.map(() => newId('sub')), tenant, secret, retry, chunk.map((r) => r.topic), chunk.map((r) => r.url)],
    );
  }
  // As after any bulk load (PostgreSQL: "Populating a Database"): without fresh statistics the planner
  // took the dispatcher's breaker sweeps (every 500 ms) through all 100,000 rows, ~250 ms each, until
  // autovacuum's analyze came round.
  await inst.db.query('ANALYZE');
  return performance.now() - t0;
}
