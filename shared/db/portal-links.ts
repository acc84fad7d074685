import { createHash } from 'node:crypto';
import type { Pool } from './pool.js';

/** What a portal link opens: one subject's subscriptions on some topic patterns of a tenant. */
export interface PortalGrant {
  tenant: string;
  subject: string;
  topics: string[];
  /** Lifetime of the session token the link is exchanged for. */
  sessionTtlS: number;
}

const hashOf = (code: string) => createHash('sha256').update(code).digest();

/** Stores a link by the hash of its code; spent and expired links older than a day are pruned on the way. */
export async function insertPortalLink(
  pool: Pool,
  link: PortalGrant & { code: string; createdBy: string; expiresAt: Date },
): Promise<void> {
  await pool.query(`DELETE FROM portal_links WHERE expires_at < now() - interval '1 day'`);
  await pool.query(
    `INSERT INTO portal_links (code_hash, tenant, subject, topics, session_ttl_s, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [hashOf(link.code), link.tenant, link.subject, link.topics, link.sessionTtlS, link.createdBy, link.expiresAt],
  );
}

/**
 * Marks an unexpired, unused link as used and returns what it grants, in one statement: of two concurrent
 * exchanges of the same code exactly one gets the grant.
 */
export async function spendPortalLink(pool: Pool, code: string): Promise<PortalGrant | undefined> {
  const { rows } = await pool.query(
    `UPDATE portal_links SET used_at = now()
      WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()
      RETURNING tenant, subject, topics, session_ttl_s`,
    [hashOf(code)],
  );
  const r = rows[0];
  return r ? { tenant: r.tenant, subject: r.subject, topics: r.topics, sessionTtlS: r.session_ttl_s } : undefined;
}
