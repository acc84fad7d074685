import { releaseParkedDeliveries } from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import { recordVerification } from '../../../shared/db/subscription-verification.js';
import { inSubscriptionWrite, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { findTenantSettings } from '../../../shared/db/tenant-settings.js';
import type { AddressPolicy } from '../../../shared/net/address-policy.js';
import { verifyEndpoint } from './verify-endpoint.js';

/** What the ownership check needs from the app. */
export interface VerificationDeps {
  pool: Pool;
  addressPolicy: AddressPolicy;
  /**
   * Whether tenants without a setting of their own must verify endpoints (`HOOKLINE_VERIFY_ENDPOINTS`,
   * on by default in production). @default false
   */
  verifyEndpoints?: boolean;
}

/** Whether new and re-pointed webhook endpoints of `tenant` must pass the ownership check. */
export async function verificationRequired(deps: VerificationDeps, tenant: string): Promise<boolean> {
  const settings = await findTenantSettings(deps.pool, tenant);
  return settings.verifyEndpoints ?? deps.verifyEndpoints ?? false;
}

/**
 * Challenges the subscription's endpoint and records the result. On success a `pending_verification`
 * subscription becomes `active` and the deliveries parked while it waited are released.
 * @returns the subscription as it is after the check.
 */
export async function verifySubscription(deps: VerificationDeps, sub: SubscriptionRecord): Promise<SubscriptionRecord> {
  if (sub.type !== 'webhook' || !sub.url || !sub.secret) return sub;
  const result = await verifyEndpoint(
    {
      subscriptionId: sub.id,
      topic: sub.topic,
      url: sub.url,
      secret: sub.secret,
      previousSecret: sub.previousSecret,
      previousSecretExpiresAt: sub.previousSecretExpiresAt,
      timeoutMs: sub.timeoutMs,
    },
    deps.addressPolicy,
  );
  const updated = await inSubscriptionWrite(deps.pool, (db) =>
    recordVerification(db, { tenant: sub.tenant, id: sub.id, url: sub.url!, ok: result.ok, error: result.error }),
  );
  if (!updated) return sub;
  if (result.ok && updated.status === 'active') await releaseParkedDeliveries(deps.pool, sub.id);
  return updated;
}

/**
 * The status a subscription resumes to: `active`, unless its tenant requires verification and the
 * endpoint at its url has not passed the check.
 */
export async function statusOnResume(
  deps: VerificationDeps,
  sub: SubscriptionRecord,
): Promise<'active' | 'pending_verification'> {
  if (sub.type !== 'webhook' || sub.verifiedAt) return 'active';
  return (await verificationRequired(deps, sub.tenant)) ? 'pending_verification' : 'active';
}
