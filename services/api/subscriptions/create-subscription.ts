import type { Principal } from '../../../shared/auth/principal.js';
import { DEFAULT_RETRY_POLICY } from '../../../shared/backoff.js';
import { inSubscriptionWrite, insertSubscription, updateSubscription, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { ValidationError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import { validateWebhookUrl } from '../../../shared/net/address-policy.js';
import { generateSecret } from '../../../shared/signing.js';
import { assertPollFields, PollConsumerChanges } from '../poll/poll-subscription.js';
import { verificationRequired, verifySubscription } from './endpoint-verification.js';
import type { SubscriptionDeps } from './subscription-deps.js';
import { assertWebhookFields, mergePolicyOptions } from './subscription-fields.js';
import { mergeRetry, type SubscriptionCreate } from './subscription-schemas.js';
import { assertSubscriptionQuota, DEFAULT_TENANT_QUOTAS } from './tenant-quotas.js';

/**
 * Creates `principal`'s subscription from a validated body, in one transaction with the tenant's quota
 * check and (for a poll subscription) its JetStream consumer, which is deleted again if the transaction
 * fails. A webhook of a tenant that requires it starts out `pending_verification` and is challenged
 * once committed.
 * @returns the subscription and, for a webhook, its signing secret (shown only in this answer).
 */
export async function createSubscription(
  deps: SubscriptionDeps,
  p: Principal,
  body: SubscriptionCreate,
): Promise<{ sub: SubscriptionRecord; secret: string | null }> {
  let url: string | null = null;
  if (body.type === 'webhook') {
    if (!body.url) throw new ValidationError('subscription.url_required', 'A webhook subscription needs a url.');
    url = (await validateWebhookUrl(body.url, deps.addressPolicy)).toString();
  } else if (body.url || body.secret || body.retry) {
    throw new ValidationError('subscription.invalid', 'url, secret and retry apply to webhook subscriptions only.');
  }
  assertWebhookFields(body.type, body);
  assertPollFields(body.type, body);
  const poll = new PollConsumerChanges(deps);
  const secret = body.type === 'webhook' ? (body.secret ?? generateSecret()) : null;
  const verify = body.type === 'webhook' && (await verificationRequired(deps, p.tenant));
  let sub = await inSubscriptionWrite(deps.pool, async (db) => {
    await assertSubscriptionQuota(db, p.tenant, body.type, deps.tenantQuotas ?? DEFAULT_TENANT_QUOTAS);
    const created = await insertSubscription(db, {
      id: newId('sub'),
      tenant: p.tenant,
      owner: p.sub,
      type: body.type,
      topic: body.topic,
      url,
      secret,
      retry: mergeRetry(DEFAULT_RETRY_POLICY, body.retry),
      timeoutMs: body.timeoutMs,
      ordered: body.ordered,
      filter: body.filter ?? null,
      description: body.description ?? null,
      options: mergePolicyOptions({}, body),
    });
    if (created.type === 'poll') return poll.create(db, created, body);
    if (!verify) return created;
    return (await updateSubscription(db, p.tenant, created.id, { status: 'pending_verification' })) ?? created;
  }).catch(poll.undo);
  if (verify) sub = await verifySubscription(deps, sub);
  return { sub, secret };
}
