import type { Pool } from './pool.js';

/** A tenant's overrides of installation defaults; null (or a missing row) means "use the default". */
export interface TenantSettings {
  tenant: string;
  /** Require webhook endpoints to echo an ownership challenge before they get traffic. */
  verifyEndpoints: boolean | null;
  updatedAt: Date | null;
}

export async function findTenantSettings(pool: Pool, tenant: string): Promise<TenantSettings> {
  const { rows } = await pool.query('SELECT verify_endpoints, updated_at FROM tenant_settings WHERE tenant = $1', [tenant]);
  const r = rows[0];
  return { tenant, verifyEndpoints: r?.verify_endpoints ?? null, updatedAt: r?.updated_at ?? null };
}

/** Sets the given fields (undefined: left as is; null: back to the default) and returns the row. */
export async function updateTenantSettings(
  pool: Pool,
  tenant: string,
  changes: { verifyEndpoints?: boolean | null },
): Promise<TenantSettings> {
  if (changes.verifyEndpoints === undefined) return findTenantSettings(pool, tenant);
  const { rows } = await pool.query(
    `INSERT INTO tenant_settings (tenant, verify_endpoints) VALUES ($1, $2)
     ON CONFLICT (tenant) DO UPDATE SET verify_endpoints = EXCLUDED.verify_endpoints, updated_at = now()
     RETURNING verify_endpoints, updated_at`,
    [tenant, changes.verifyEndpoints],
  );
  return { tenant, verifyEndpoints: rows[0].verify_endpoints, updatedAt: rows[0].updated_at };
}
