import type { Pool } from './pool.js';

/** The quotas a tenant may override; each null (or a missing row) means "use the installation default". */
export interface QuotaOverrides {
  subscriptions: number | null;
  pollSubscriptions: number | null;
  streams: number | null;
}

/** A tenant's overrides of installation defaults; null (or a missing row) means "use the default". */
export interface TenantSettings {
  tenant: string;
  /** Require webhook endpoints to echo an ownership challenge before they get traffic. */
  verifyEndpoints: boolean | null;
  quotas: QuotaOverrides;
  updatedAt: Date | null;
}

/** Changes to a tenant's settings: undefined leaves a field as it is, null restores the default. */
export interface TenantSettingsChanges {
  verifyEndpoints?: boolean | null;
  quotas?: Partial<QuotaOverrides>;
}

const COLUMNS = 'verify_endpoints, max_subscriptions, max_poll_subscriptions, max_streams, updated_at';
const QUOTA_COLUMNS: Record<keyof QuotaOverrides, string> = {
  subscriptions: 'max_subscriptions',
  pollSubscriptions: 'max_poll_subscriptions',
  streams: 'max_streams',
};

interface SettingsRow {
  verify_endpoints: boolean | null;
  max_subscriptions: number | null;
  max_poll_subscriptions: number | null;
  max_streams: number | null;
  updated_at: Date;
}

function toSettings(tenant: string, r: SettingsRow | undefined): TenantSettings {
  return {
    tenant,
    verifyEndpoints: r?.verify_endpoints ?? null,
    quotas: {
      subscriptions: r?.max_subscriptions ?? null,
      pollSubscriptions: r?.max_poll_subscriptions ?? null,
      streams: r?.max_streams ?? null,
    },
    updatedAt: r?.updated_at ?? null,
  };
}

export async function findTenantSettings(pool: Pick<Pool, 'query'>, tenant: string): Promise<TenantSettings> {
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM tenant_settings WHERE tenant = $1`, [tenant]);
  return toSettings(tenant, rows[0]);
}

/** Sets the given fields (undefined: left as is; null: back to the default) and returns the row. */
export async function updateTenantSettings(pool: Pool, tenant: string, changes: TenantSettingsChanges): Promise<TenantSettings> {
  const set: [string, unknown][] = [];
  if (changes.verifyEndpoints !== undefined) set.push(['verify_endpoints', changes.verifyEndpoints]);
  for (const [name, column] of Object.entries(QUOTA_COLUMNS) as [keyof QuotaOverrides, string][]) {
    const v = changes.quotas?.[name];
    if (v !== undefined) set.push([column, v]);
  }
  if (!set.length) return findTenantSettings(pool, tenant);
  const columns = set.map(([c]) => c);
  const { rows } = await pool.query(
    `INSERT INTO tenant_settings (tenant, ${columns.join(', ')}) VALUES ($1, ${columns.map((_, i) => `$${i + 2}`).join(', ')})
     ON CONFLICT (tenant) DO UPDATE SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, updated_at = now()
     RETURNING ${COLUMNS}`,
    [tenant, ...set.map(([, v]) => v)],
  );
  return toSettings(tenant, rows[0]);
}
