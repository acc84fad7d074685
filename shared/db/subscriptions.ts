import type { PoolClient } from 'pg';
import type { RetryPolicy } from '../backoff.js';
import { SUBSCRIPTION_WRITE_LOCK } from './advisory-locks.js';
import type { HealthSummary } from './endpoint-health.js';
import { inTransaction, type Pool } from './pool.js';
import type { Queryable } from './queryable.js';

export type SubscriptionType = 'webhook' | 'poll';
/** `pending_verification`: a webhook whose endpoint has not yet echoed the ownership challenge. */
export const SUBSCRIPTION_STATUSES = ['active', 'paused', 'disabled', 'pending_verification'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** A subscription row as the services use it (secrets included: never serialise this to a client). */
export interface SubscriptionRecord {
  id: string;
  tenant: string;
  owner: string;
  type: SubscriptionType;
  topic: string;
  url: string | null;
  secret: string | null;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  status: SubscriptionStatus;
  disabledReason: string | null;
  retry: RetryPolicy;
  timeoutMs: number;
  ordered: boolean;
  filter: unknown;
  description: string | null;
  options: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  version: number;
  /** When the endpoint at `url` last echoed the ownership challenge; null: never, or the url changed since. */
  verifiedAt?: Date | null;
  /** Why the latest ownership check failed; null after a success. */
  verificationError?: string | null;
  /** The endpoint's circuit breaker and its recent transitions (shared/db/endpoint-health.ts; the dispatcher writes it). */
  health?: HealthSummary;
}

const COLUMNS = `id, tenant, owner, type, topic, url, secret, previous_secret, previous_secret_expires_at, status,
  disabled_reason, retry, timeout_ms, ordered, filter, description, options, created_at, updated_at, deleted_at,
  version, verified_at, verification_error, health`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toSubscription(r: any): SubscriptionRecord {
  return {
    id: r.id,
    tenant: r.tenant,
    owner: r.owner,
    type: r.type,
    topic: r.topic,
    url: r.url,
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousSecretExpiresAt: r.previous_secret_expires_at,
    status: r.status,
    disabledReason: r.disabled_reason,
    retry: r.retry,
    timeoutMs: r.timeout_ms,
    ordered: r.ordered,
    filter: r.filter,
    description: r.description,
    options: r.options,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deletedAt: r.deleted_at,
    version: Number(r.version),
    verifiedAt: r.verified_at ?? null,
    verificationError: r.verification_error ?? null,
    health: r.health ?? undefined,
  };
}

export type NewSubscription = Pick<
  SubscriptionRecord,
  'id' | 'tenant' | 'owner' | 'type' | 'topic' | 'url' | 'secret' | 'retry' | 'timeoutMs' | 'ordered' | 'filter'
> & { description: string | null; options: Record<string, unknown> };

export async function insertSubscription(pool: Queryable, s: NewSubscription): Promise<SubscriptionRecord> {
  const { rows } = await pool.query(
    `INSERT INTO subscriptions (id, tenant, owner, type, topic, url, secret, retry, timeout_ms, ordered, filter,
       description, options)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     RETURNING ${COLUMNS}`,
    [
      s.id,
      s.tenant,
      s.owner,
      s.type,
      s.topic,
      s.url,
      s.secret,
      JSON.stringify(s.retry),
      s.timeoutMs,
      s.ordered,
      s.filter === undefined || s.filter === null ? null : JSON.stringify(s.filter),
      s.description,
      JSON.stringify(s.options),
    ],
  );
  return toSubscription(rows[0]);
}

/** A live (not deleted) subscription of the tenant, or undefined. */
export async function findSubscription(
  pool: Queryable,
  tenant: string,
  id: string,
): Promise<SubscriptionRecord | undefined> {
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM subscriptions WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL`,
    [id, tenant],
  );
  return rows[0] ? toSubscription(rows[0]) : undefined;
}

/** The live subscriptions of `tenant` among `ids`, in one statement (any order; unknown ids are left out). */
export async function findSubscriptions(pool: Queryable, tenant: string, ids: string[]): Promise<SubscriptionRecord[]> {
  if (!ids.length) return [];
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM subscriptions WHERE id = ANY($1::text[]) AND tenant = $2 AND deleted_at IS NULL`,
    [ids, tenant],
  );
  return rows.map(toSubscription);
}

/** Keyset page of a tenant's live subscriptions, oldest first; `owner` narrows to one principal's. */
export async function listSubscriptions(
  pool: Pool,
  q: { tenant: string; owner?: string; after?: { createdAt: string; id: string }; limit: number },
): Promise<SubscriptionRecord[]> {
  const params: unknown[] = [q.tenant, q.limit];
  let where = 'tenant = $1 AND deleted_at IS NULL';
  if (q.owner !== undefined) {
    params.push(q.owner);
    where += ` AND owner = $${params.length}`;
  }
  if (q.after) {
    params.push(q.after.createdAt, q.after.id);
    // Cursors carry JavaScript's millisecond precision while created_at keeps microseconds: compare and
    // order at milliseconds, or the last row of a page (.123456 > cursor .123) would come back on the next.
    where += ` AND (created_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`;
  }
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM subscriptions WHERE ${where} ORDER BY created_at, id LIMIT $2`,
    params,
  );
  return rows.map(toSubscription);
}

/** Columns a PATCH may change, in their database spelling. */
export interface SubscriptionChanges {
  topic?: string;
  url?: string;
  retry?: RetryPolicy;
  timeout_ms?: number;
  ordered?: boolean;
  filter?: unknown;
  description?: string | null;
  options?: Record<string, unknown>;
  status?: SubscriptionStatus;
  disabled_reason?: string | null;
  secret?: string;
  previous_secret?: string | null;
  previous_secret_expires_at?: Date | null;
  verified_at?: Date | null;
  verification_error?: string | null;
}

const JSON_COLUMNS = new Set(['retry', 'filter', 'options']);

/** Applies `changes` in one statement and bumps the version the router watches. */
export async function updateSubscription(
  pool: Queryable,
  tenant: string,
  id: string,
  changes: SubscriptionChanges,
): Promise<SubscriptionRecord | undefined> {
  const entries = Object.entries(changes).filter(([, v]) => v !== undefined);
  const params: unknown[] = [id, tenant];
  const sets = entries.map(([col, v]) => {
    params.push(JSON_COLUMNS.has(col) && v !== null ? JSON.stringify(v) : v);
    return `${col} = $${params.length}`;
  });
  const { rows } = await pool.query(
    `UPDATE subscriptions SET ${[...sets, "updated_at = now()", "version = nextval('subscription_version')"].join(', ')}
     WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    params,
  );
  return rows[0] ? toSubscription(rows[0]) : undefined;
}

/**
 * Soft delete: the row stays (its deliveries and attempts remain readable by id) and its bumped version
 * tells routers to drop it from their index.
 */
export async function deleteSubscription(pool: Queryable, tenant: string, id: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE subscriptions SET deleted_at = now(), updated_at = now(), version = nextval('subscription_version')
     WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL`,
    [id, tenant],
  );
  return (rowCount ?? 0) > 0;
}

/** Every row (deleted ones too) changed after `version`, in version order. */
export async function subscriptionsChangedSince(pool: Pool, version: number): Promise<SubscriptionRecord[]> {
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM subscriptions WHERE version > $1 ORDER BY version`,
    [version],
  );
  return rows.map(toSubscription);
}

/** The highest committed subscription version (0 when there are none). */
export async function latestSubscriptionVersion(pool: Pool): Promise<number> {
  const { rows } = await pool.query('SELECT coalesce(max(version), 0) AS v FROM subscriptions');
  return Number(rows[0].v);
}

// Any constant; shared by every writer of subscriptions.

/**
 * Runs a subscription write in a transaction holding one advisory lock, so versions commit in the order
 * they were drawn and a router that has seen version v has seen every change up to v.
 */
export function inSubscriptionWrite<T>(pool: Pool, fn: (db: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock($1)', [SUBSCRIPTION_WRITE_LOCK]);
    return fn(db);
  });
}
