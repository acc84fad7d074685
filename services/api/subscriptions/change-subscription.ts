import { inSubscriptionWrite, updateSubscription, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { NotFoundError, ValidationError } from '../../../shared/errors.js';
import { validateWebhookUrl } from '../../../shared/net/address-policy.js';
import { assertPollFields, PollConsumerChanges } from '../poll/poll-subscription.js';
import { verificationRequired, verifySubscription } from './endpoint-verification.js';
import type { SubscriptionDeps } from './subscription-deps.js';
import { assertWebhookFields, changesPolicy, mergePolicyOptions } from './subscription-fields.js';
import { mergeRetry, type SubscriptionPatch } from './subscription-schemas.js';

/**
 * Applies a validated PATCH body to `current`, in one transaction with the change of a poll
 * subscription's consumer (undone if the transaction fails). A new url has proved nothing yet: its
 * verification starts over, and where the tenant requires it delivery waits for the check, run once
 * committed.
 */
export async function changeSubscription(
  deps: SubscriptionDeps,
  current: SubscriptionRecord,
  body: SubscriptionPatch,
): Promise<SubscriptionRecord> {
  if (body.url !== undefined && current.type !== 'webhook') {
    throw new ValidationError('subscription.invalid', 'url applies to webhook subscriptions only.');
  }
  assertWebhookFields(current.type, body);
  assertPollFields(current.type, body);
  const poll = new PollConsumerChanges(deps);
  const url = body.url !== undefined ? (await validateWebhookUrl(body.url, deps.addressPolicy)).toString() : undefined;
  const urlChanged = url !== undefined && url !== current.url;
  const verify = urlChanged && (await verificationRequired(deps, current.tenant));
  let updated = await inSubscriptionWrite(deps.pool, async (db) => {
    const row = await updateSubscription(db, current.tenant, current.id, {
      topic: body.topic,
      url,
      retry: body.retry ? mergeRetry(current.retry, body.retry) : undefined,
      timeout_ms: body.timeoutMs,
      ordered: body.ordered,
      description: body.description,
      filter: body.filter,
      options:
        PollConsumerChanges.patchedOptions(current.options, body) ??
        (changesPolicy(body) ? mergePolicyOptions(current.options, body) : undefined),
      ...(urlChanged ? { verified_at: null, verification_error: null } : {}),
      ...(verify && current.status === 'active' ? { status: 'pending_verification' as const } : {}),
    });
    return row && row.type === 'poll' ? poll.update(db, current, row) : row;
  }).catch(poll.undo);
  if (!updated) throw new NotFoundError('subscription.not_found', `Subscription ${current.id} does not exist.`);
  if (verify) updated = await verifySubscription(deps, updated);
  return updated;
}
