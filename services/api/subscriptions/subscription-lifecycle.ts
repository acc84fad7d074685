import { releaseParkedDeliveries } from '../../../shared/db/deliveries.js';
import { deleteSubscription, inSubscriptionWrite, updateSubscription, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { ValidationError } from '../../../shared/errors.js';
import { rotatedSecrets } from '../../../shared/signing-keys.js';
import { PollConsumerChanges } from '../poll/poll-subscription.js';
import { statusOnResume, verifySubscription } from './endpoint-verification.js';
import type { SubscriptionDeps } from './subscription-deps.js';

/** Deletes `current`; a poll subscription's consumer goes before the commit, so if NATS refuses nothing changes. */
export async function removeSubscription(deps: SubscriptionDeps, current: SubscriptionRecord): Promise<void> {
  await inSubscriptionWrite(deps.pool, async (db) => {
    if (await deleteSubscription(db, current.tenant, current.id)) await new PollConsumerChanges(deps).delete(current);
  });
}

/** Stops delivering; what arrives meanwhile is parked until the subscription is resumed. */
export async function pauseSubscription(deps: SubscriptionDeps, current: SubscriptionRecord): Promise<SubscriptionRecord> {
  const updated = await inSubscriptionWrite(deps.pool, (db) => updateSubscription(db, current.tenant, current.id, { status: 'paused' }));
  return updated ?? current;
}

/**
 * Delivers again, including what was parked meanwhile. Resuming never skips a required ownership check:
 * an unverified endpoint is challenged first.
 */
export async function resumeSubscription(deps: SubscriptionDeps, current: SubscriptionRecord): Promise<SubscriptionRecord> {
  const status = await statusOnResume(deps, current);
  let updated = await inSubscriptionWrite(deps.pool, (db) =>
    updateSubscription(db, current.tenant, current.id, { status, disabled_reason: null }),
  );
  if (status === 'active') await releaseParkedDeliveries(deps.pool, current.id);
  else if (updated) updated = await verifySubscription(deps, updated);
  return updated ?? current;
}

/** A new signing secret; the old one keeps signing beside it for the overlap (shared/signing-keys.ts). */
export async function rotateSubscriptionSecret(
  deps: SubscriptionDeps,
  current: SubscriptionRecord,
): Promise<{ sub: SubscriptionRecord; secret: string; previousSecretExpiresAt: Date }> {
  if (current.type !== 'webhook') {
    throw new ValidationError('subscription.invalid', 'Only webhook subscriptions have a signing secret.');
  }
  const next = rotatedSecrets(current);
  const updated = await inSubscriptionWrite(deps.pool, (db) =>
    updateSubscription(db, current.tenant, current.id, {
      secret: next.secret,
      previous_secret: next.previousSecret,
      previous_secret_expires_at: next.previousSecretExpiresAt,
    }),
  );
  return { sub: updated ?? current, secret: next.secret, previousSecretExpiresAt: next.previousSecretExpiresAt };
}
