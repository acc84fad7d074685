import { z } from 'zod';
import type { SubscriptionType } from '../../../shared/db/subscriptions.js';
import type { QuotaOverrides, TenantSettings } from '../../../shared/db/tenant-settings.js';
import { findTenantSettings } from '../../../shared/db/tenant-settings.js';
import type { Pool } from '../../../shared/db/pool.js';
import { type AppError, ForbiddenError, TooManyRequestsError } from '../../../shared/errors.js';
import { count } from '../http/view-fields.js';

/** What a tenant may hold at once; a tenant's settings may override each. */
export interface TenantQuotas {
  /** Live subscriptions of any type (HOOKLINE_TENANT_MAX_SUBSCRIPTIONS). @default 1000 */
  subscriptions: number;
  /** Live poll subscriptions, each a durable JetStream consumer (HOOKLINE_TENANT_MAX_POLL_SUBSCRIPTIONS). @default 100 */
  pollSubscriptions: number;
  /** Open SSE streams plus WebSockets across every api replica (HOOKLINE_TENANT_MAX_STREAMS). @default 500 */
  streams: number;
}

export type QuotaName = keyof TenantQuotas;

export const DEFAULT_TENANT_QUOTAS: Readonly<TenantQuotas> = Object.freeze({
  subscriptions: 1000,
  pollSubscriptions: 100,
  streams: 500,
});

/** The quotas in force for a tenant: its overrides where it has them, the installation's otherwise. */
export function effectiveQuotas(overrides: QuotaOverrides, defaults: TenantQuotas): TenantQuotas {
  return {
    subscriptions: overrides.subscriptions ?? defaults.subscriptions,
    pollSubscriptions: overrides.pollSubscriptions ?? defaults.pollSubscriptions,
    streams: overrides.streams ?? defaults.streams,
  };
}

export const quotaSchema = z.object({
  limit: count(),
  source: z.enum(['tenant', 'default']).meta({ description: "The tenant's override, or the installation default (HOOKLINE_TENANT_MAX_*)." }),
});

/** What the tenant may hold at once, as tenant settings show it. */
export const quotasSchema = z
  .object({ subscriptions: quotaSchema, pollSubscriptions: quotaSchema, streams: quotaSchema })
  .meta({ description: 'What the tenant may hold at once: live subscriptions, poll subscriptions, open SSE streams plus WebSockets.' });

/** Each quota with where its value comes from, as tenant settings show it. */
export function quotasView(s: TenantSettings, defaults: TenantQuotas): z.output<typeof quotasSchema> {
  const one = (name: QuotaName) => ({
    limit: s.quotas[name] ?? defaults[name],
    source: s.quotas[name] === null ? ('default' as const) : ('tenant' as const),
  });
  return { subscriptions: one('subscriptions'), pollSubscriptions: one('pollSubscriptions'), streams: one('streams') };
}

const WHAT: Record<QuotaName, string> = {
  subscriptions: 'subscriptions',
  pollSubscriptions: 'poll subscriptions',
  streams: 'open live streams (SSE and WebSocket)',
};

/**
 * A tenant holds as many of something as its quota allows. Subscriptions stay until deleted: 403. Open
 * streams free up when one closes: 429, worth retrying.
 */
export function quotaExceeded(quota: QuotaName, limit: number): AppError {
  const options = { extensions: { quota, limit } };
  const held = `This tenant holds its quota of ${limit} ${WHAT[quota]}; `;
  return quota === 'streams'
    ? new TooManyRequestsError('quota.exceeded', held + 'close one, or retry later.', options)
    : new ForbiddenError('quota.exceeded', held + 'delete one first, or ask for a higher quota.', options);
}

/**
 * Refuses a new subscription of `type` once the tenant holds its quota. Call inside the subscription
 * write lock, which serialises every replica's creations: the count cannot change between check and insert.
 */
export async function assertSubscriptionQuota(
  db: Pick<Pool, 'query'>,
  tenant: string,
  type: SubscriptionType,
  defaults: TenantQuotas,
): Promise<void> {
  const quotas = effectiveQuotas((await findTenantSettings(db, tenant)).quotas, defaults);
  const { rows } = await db.query(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE type = 'poll')::int AS poll
     FROM subscriptions WHERE tenant = $1 AND deleted_at IS NULL`,
    [tenant],
  );
  const held = rows[0] as { total: number; poll: number };
  if (held.total >= quotas.subscriptions) throw quotaExceeded('subscriptions', quotas.subscriptions);
  if (type === 'poll' && held.poll >= quotas.pollSubscriptions) throw quotaExceeded('pollSubscriptions', quotas.pollSubscriptions);
}
