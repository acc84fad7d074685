import { idTimePart } from '../ids.js';
import type { Pool } from './pool.js';
import type { HealthSummary } from './endpoint-health.js';

/**
 * Statistics read from the counters and per-minute rollups that triggers keep as deliveries, attempts and
 * messages are written (migrations/0008_stats.sql): `delivery_counts`, `subscription_minutes`,
 * `tenant_minutes`. Counts by state come from one statement, so they are one snapshot:
 * pending + failed + succeeded + dead = total, always.
 *
 * One file (≈ 300 lines) because every read here shares the rollups' bucket and shard layout with
 * 0008_stats.sql; split, the layout would be restated in each part.
 */

/** Exclusive upper bounds of the latency buckets (ms); the last bucket is unbounded. As in 0008_stats.sql. */
export const LATENCY_BUCKET_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

export interface StateCounts {
  pending: number;
  failed: number;
  succeeded: number;
  dead: number;
  total: number;
}

export interface WindowFigures {
  attempts: number;
  succeeded: number;
  failed: number;
  /** succeeded / attempts, or null without attempts. */
  successRate: number | null;
}

export interface LastFailure {
  at: Date;
  error: string | null;
  statusCode: number | null;
}

/** Which subscriptions a figure covers: the tenant's live ones, or only those `owner` owns. */
export interface StatsScope {
  tenant: string;
  /** undefined: every subscription of the tenant (admins). */
  owner?: string;
}

const COUNT_COLUMNS = `count(*) FILTER (WHERE status = 'pending')::int AS pending,
  count(*) FILTER (WHERE status = 'failed')::int AS failed,
  count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
  count(*) FILTER (WHERE status = 'dead')::int AS dead,
  count(*)::int AS total`;

/** The same columns summed from delivery_counts. */
const COUNTER_COLUMNS = `coalesce(sum(n) FILTER (WHERE status = 'pending'), 0)::int AS pending,
  coalesce(sum(n) FILTER (WHERE status = 'failed'), 0)::int AS failed,
  coalesce(sum(n) FILTER (WHERE status = 'succeeded'), 0)::int AS succeeded,
  coalesce(sum(n) FILTER (WHERE status = 'dead'), 0)::int AS dead,
  coalesce(sum(n), 0)::int AS total`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toCounts = (r: any): StateCounts => ({
  pending: r.pending,
  failed: r.failed,
  succeeded: r.succeeded,
  dead: r.dead,
  total: r.total,
});

const VISIBLE_SUBSCRIPTIONS = `SELECT id FROM subscriptions
  WHERE tenant = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR owner = $2)`;

// Windows are whole minutes: the current minute and the 59 (1,439) before it.
const HOUR_START = `date_trunc('minute', now()) - interval '59 minutes'`;
const DAY_START = `date_trunc('minute', now()) - interval '1439 minutes'`;

function windowOf(attempts: number, succeeded: number, failed: number): WindowFigures {
  return { attempts, succeeded, failed, successRate: attempts ? succeeded / attempts : null };
}

const WINDOW_COLUMNS = `coalesce(sum(attempts) FILTER (WHERE minute >= ${HOUR_START}), 0)::int AS h_attempts,
  coalesce(sum(succeeded) FILTER (WHERE minute >= ${HOUR_START}), 0)::int AS h_succeeded,
  coalesce(sum(failed) FILTER (WHERE minute >= ${HOUR_START}), 0)::int AS h_failed,
  coalesce(sum(attempts), 0)::int AS d_attempts,
  coalesce(sum(succeeded), 0)::int AS d_succeeded,
  coalesce(sum(failed), 0)::int AS d_failed`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toWindows = (r: any) => ({
  lastHour: windowOf(r.h_attempts, r.h_succeeded, r.h_failed),
  lastDay: windowOf(r.d_attempts, r.d_succeeded, r.d_failed),
});

/**
 * Latency quantile estimated from bucket counts the way Prometheus' histogram_quantile does: linear
 * interpolation inside the bucket that holds it; the unbounded last bucket answers with its lower bound.
 */
export function quantileFromBuckets(buckets: number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKET_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BUCKET_BOUNDS_MS[i];
      if (upper === undefined) return lower;
      return Math.round(lower + ((upper - lower) * (rank - seen)) / n);
    }
    seen += n;
  }
  return LATENCY_BUCKET_BOUNDS_MS[LATENCY_BUCKET_BOUNDS_MS.length - 1]!;
}

export interface SubscriptionStats {
  counts: StateCounts;
  lastHour: WindowFigures;
  lastDay: WindowFigures;
  lastSuccessAt: Date | null;
  lastFailure: LastFailure | null;
  /** Over the last hour's attempts; null without any. */
  latencyMs: { p50: number; p95: number } | null;
}

/** Everything `GET /v1/subscriptions/:id/stats` shows of one subscription, in one statement. */
export async function subscriptionStats(pool: Pick<Pool, 'query'>, subscriptionId: string): Promise<SubscriptionStats> {
  const { rows } = await pool.query({
    name: 'subscription-stats',
    text: `SELECT c.*, w.*, ls.last_success_at, lf.last_failure_at, lf.last_failure_error, lf.last_failure_status, lat.buckets
     FROM (SELECT ${COUNTER_COLUMNS} FROM delivery_counts WHERE subscription_id = $1) c,
       (SELECT ${WINDOW_COLUMNS} FROM subscription_minutes WHERE subscription_id = $1 AND minute >= ${DAY_START}) w,
       (SELECT array_agg(latency_buckets) AS buckets FROM subscription_minutes
         WHERE subscription_id = $1 AND minute >= ${HOUR_START}) lat
       LEFT JOIN LATERAL (SELECT last_success_at FROM subscription_minutes
         WHERE subscription_id = $1 AND last_success_at IS NOT NULL ORDER BY minute DESC, last_success_at DESC LIMIT 1) ls ON true
       LEFT JOIN LATERAL (SELECT last_failure_at, last_failure_error, last_failure_status FROM subscription_minutes
         WHERE subscription_id = $1 AND last_failure_at IS NOT NULL ORDER BY minute DESC, last_failure_at DESC LIMIT 1) lf ON true`,
    values: [subscriptionId],
  });
  const r = rows[0];
  const buckets = sumBuckets((r.buckets ?? []) as number[][]);
  const p50 = quantileFromBuckets(buckets, 0.5);
  const p95 = quantileFromBuckets(buckets, 0.95);
  return {
    counts: toCounts(r),
    ...toWindows(r),
    lastSuccessAt: r.last_success_at ?? null,
    lastFailure: r.last_failure_at
      ? { at: r.last_failure_at, error: r.last_failure_error, statusCode: r.last_failure_status }
      : null,
    latencyMs: p50 !== null && p95 !== null ? { p50, p95 } : null,
  };
}

function sumBuckets(rows: number[][]): number[] {
  const out = new Array<number>(LATENCY_BUCKET_BOUNDS_MS.length + 1).fill(0);
  for (const row of rows) row.forEach((n, i) => (out[i] = (out[i] ?? 0) + Number(n)));
  return out;
}

export interface MinuteFigures {
  minute: Date;
  messages: number;
  deliveries: number;
}

export interface FailingSubscription {
  id: string;
  topic: string;
  url: string | null;
  status: string;
  health: HealthSummary | undefined;
  lastFailure: LastFailure | null;
}

export interface TenantStats {
  counts: StateCounts;
  lastHour: WindowFigures;
  lastDay: WindowFigures;
  /** The last 60 minutes, oldest first, every minute present. */
  perMinute: MinuteFigures[];
  failingSubscriptions: FailingSubscription[];
}

/** How many failing subscriptions `GET /v1/stats` lists at most. */
export const FAILING_LIST_LIMIT = 100;

/**
 * Tenant-wide figures over the subscriptions in `scope`. `topicRegexes` restricts the messages counted per
 * minute to the topics a non-admin's grants reach (null: every message of the tenant).
 * Counts are one statement; the rest are read in the same REPEATABLE READ transaction.
 */
export async function tenantStats(pool: Pool, scope: StatsScope, topicRegexes: string[] | null): Promise<TenantStats> {
  const client = await pool.connect();
  const args = [scope.tenant, scope.owner ?? null];
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const counts = await client.query({
      text: `SELECT ${COUNTER_COLUMNS} FROM delivery_counts
       WHERE tenant = $1 AND subscription_id IN (${VISIBLE_SUBSCRIPTIONS})`,
      values: args,
    });
    // An admin's windows come from the tenant's own rollup (at most 1,440 × 4 rows a day, whatever the number
    // of subscriptions); a non-admin's from the rollups of the subscriptions it owns.
    const windows = await client.query(
      scope.owner === undefined
        ? {
            text: `SELECT ${WINDOW_COLUMNS} FROM tenant_minutes WHERE tenant = $1 AND minute >= ${DAY_START}`,
            values: [scope.tenant],
          }
        : {
            text: `SELECT ${WINDOW_COLUMNS} FROM subscription_minutes
             WHERE minute >= ${DAY_START} AND subscription_id IN (${VISIBLE_SUBSCRIPTIONS})`,
            values: args,
          },
    );
    const perMinute = await client.query({
      text: `WITH minutes AS (
         SELECT generate_series(${HOUR_START}, date_trunc('minute', now()), interval '1 minute') AS minute
       ),
       m AS (${
         topicRegexes === null
           ? `SELECT minute, sum(messages)::int AS n FROM tenant_minutes
              WHERE tenant = $1 AND minute >= ${HOUR_START} GROUP BY 1`
           : // The messages a non-admin's grants reach are counted from the hour's messages themselves.
             `SELECT date_trunc('minute', published_at) AS minute, count(*)::int AS n FROM messages
              WHERE tenant = $1 AND published_at >= ${HOUR_START} AND topic ~ ANY($3::text[]) GROUP BY 1`
       }),
       d AS (${
         scope.owner === undefined
           ? `SELECT minute, sum(deliveries)::int AS n FROM tenant_minutes
              WHERE tenant = $1 AND minute >= ${HOUR_START} AND $2::text IS NULL GROUP BY 1`
           : `SELECT minute, sum(deliveries)::int AS n FROM subscription_minutes
              WHERE minute >= ${HOUR_START} AND subscription_id IN (${VISIBLE_SUBSCRIPTIONS}) GROUP BY 1`
       })
       SELECT minutes.minute, coalesce(m.n, 0) AS messages, coalesce(d.n, 0) AS deliveries
       FROM minutes LEFT JOIN m USING (minute) LEFT JOIN d USING (minute) ORDER BY minutes.minute`,
      values: topicRegexes === null ? args : [...args, topicRegexes],
    });
    // Failing: the breaker is not closed, failures are running unbroken, or the subscription was disabled.
    // Each branch is served by a partial index (0004_endpoint_health.sql) or the tenant's listing.
    const failing = await client.query({
      text: `SELECT s.id, s.topic, s.url, s.status, s.health, lf.last_failure_at, lf.last_failure_error, lf.last_failure_status
       FROM subscriptions s
       LEFT JOIN LATERAL (SELECT last_failure_at, last_failure_error, last_failure_status FROM subscription_minutes
         WHERE subscription_id = s.id AND last_failure_at IS NOT NULL ORDER BY minute DESC, last_failure_at DESC LIMIT 1) lf ON true
       WHERE s.tenant = $1 AND s.deleted_at IS NULL AND ($2::text IS NULL OR s.owner = $2) AND s.type = 'webhook'
         AND (s.status = 'disabled' OR s.id IN (
           SELECT subscription_id FROM endpoint_health WHERE failing_since IS NOT NULL OR disable_reason IS NOT NULL
           UNION SELECT subscription_id FROM endpoint_health WHERE state <> 'closed'))
       ORDER BY lf.last_failure_at DESC NULLS LAST, s.id
       LIMIT ${FAILING_LIST_LIMIT}`,
      values: args,
    });
    await client.query('COMMIT');
    return {
      counts: toCounts(counts.rows[0]),
      ...toWindows(windows.rows[0]),
      perMinute: perMinute.rows.map((r) => ({ minute: r.minute, messages: r.messages, deliveries: r.deliveries })),
      failingSubscriptions: failing.rows.map((r) => ({
        id: r.id,
        topic: r.topic,
        url: r.url,
        status: r.status,
        health: r.health ?? undefined,
        lastFailure: r.last_failure_at
          ? { at: r.last_failure_at, error: r.last_failure_error, statusCode: r.last_failure_status }
          : null,
      })),
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Counts by state of each message's deliveries to live subscriptions (a deleted subscription's deliveries
 * no longer count), and which of `pollSubscriptionIds` already hold a delivery row for each message.
 */
/** Bounds of the ids of every delivery of `messageIds`, whatever their subscription. */
function deliveryIdSpan(messageIds: string[]): [string, string] {
  const times = messageIds.map(idTimePart).sort();
  return [`dlv_${times[0] ?? ''}`, `dlv_${times[times.length - 1] ?? ''}~`];
}

export async function deliveryCountsOfMessages(
  db: Pick<Pool, 'query'>,
  messageIds: string[],
  pollSubscriptionIds: string[],
  owner?: string,
): Promise<Map<string, { counts: StateCounts; pollRows: Set<string> }>> {
  const { rows } = await db.query(
    `SELECT d.message_id, ${COUNT_COLUMNS.replace(/status/g, 'd.status')},
       array_agg(d.subscription_id) FILTER (WHERE d.subscription_id = ANY($2::text[])) AS poll_rows
     FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id AND s.deleted_at IS NULL
     WHERE d.message_id = ANY($1::text[]) AND ($3::text IS NULL OR s.owner = $3) AND d.id >= $4 AND d.id < $5
     GROUP BY d.message_id`,
    // Delivery ids start with their message's time: only the partitions of the batch's time span are searched.
    [messageIds, pollSubscriptionIds, owner ?? null, ...deliveryIdSpan(messageIds)],
  );
  return new Map(rows.map((r) => [r.message_id, { counts: toCounts(r), pollRows: new Set<string>(r.poll_rows ?? []) }]));
}

/** How long per-minute rollup rows are kept: a week, like the stream's default retention, plus a day. */
export const ROLLUP_KEEP_HOURS = 8 * 24;

/** Deletes rollup rows older than `keepHours` (stats read only the last day; last success and failure a week). */
export async function pruneStatsRollups(pool: Pick<Pool, 'query'>, keepHours = ROLLUP_KEEP_HOURS): Promise<number> {
  const { rows } = await pool.query(
    `WITH s AS (DELETE FROM subscription_minutes WHERE minute < now() - make_interval(hours => $1) RETURNING 1),
       t AS (DELETE FROM tenant_minutes WHERE minute < now() - make_interval(hours => $1) RETURNING 1)
     SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM t) AS n`,
    [keepHours],
  );
  return Number(rows[0].n);
}
