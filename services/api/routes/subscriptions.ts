import express, { Router, type Request } from 'express';
import type { JetStreamManager } from 'nats';
import { z } from 'zod';
import { canSeeSubscription, canSubscribe } from '../../../shared/auth/principal.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../../shared/backoff.js';
import { releaseParkedDeliveries } from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import {
  deleteSubscription,
  findSubscription,
  inSubscriptionWrite,
  insertSubscription,
  listSubscriptions,
  updateSubscription,
  type SubscriptionRecord,
} from '../../../shared/db/subscriptions.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { Logger } from '../../../shared/logger.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { validateWebhookUrl, type AddressPolicy } from '../../../shared/net/address-policy.js';
import { generateSecret, secretKey } from '../../../shared/signing.js';
import { isValidPattern } from '../../../shared/topics.js';
import { principalOf } from '../middleware/auth.js';
import { statusOnResume, verificationRequired, verifySubscription } from '../subscriptions/endpoint-verification.js';
import { assertWebhookFields, changesPolicy, createFields, mergePolicyOptions, patchFields } from '../subscriptions/subscription-fields.js';
import { assertPollFields, pollCreateFields, pollFields, PollConsumerChanges } from '../poll/poll-subscription.js';
import { subscriptionView } from '../subscriptions/subscription-view.js';
import { assertSubscriptionQuota, DEFAULT_TENANT_QUOTAS, type TenantQuotas } from '../subscriptions/tenant-quotas.js';
import { decodeCursor, encodeCursor, parseBody, parseLimit } from '../http/validate.js';

export interface SubscriptionRoutesDeps {
  pool: Pool;
  addressPolicy: AddressPolicy;
  /** Tenants without a setting of their own verify webhook endpoints (HOOKLINE_VERIFY_ENDPOINTS). @default false */
  verifyEndpoints?: boolean;
  /** Poll subscriptions: their durable consumers on MESSAGES are created, changed and deleted here. */
  jsm: JetStreamManager;
  names: Names;
  logger: Logger;
  /** Installation defaults of the per-tenant quotas (a tenant's settings may override them). */
  tenantQuotas?: TenantQuotas;
}

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

const pattern = z.string().refine(isValidPattern, {
  message: 'must be dot-separated tokens of [A-Za-z0-9_-], with * for one token and a final > for the rest',
});

const retry = z
  .object({
    maxAttempts: z.number().int().min(1).max(100),
    initialDelayMs: z.number().int().min(0).max(86_400_000),
    maxDelayMs: z.number().int().min(1).max(7 * 86_400_000),
    multiplier: z.number().min(1).max(10),
  })
  .strict()
  .partial();

const secret = z.string().refine(
  (s) => {
    try {
      secretKey(s);
      return s.startsWith('whsec_');
    } catch {
      return false;
    }
  },
  { message: 'must be "whsec_" followed by base64 of 24 to 64 random bytes' },
);

const createSchema = z
  .object({
    topic: pattern,
    type: z.enum(['webhook', 'poll']).default('webhook'),
    url: z.string().max(2048).optional(),
    secret: secret.optional(),
    retry: retry.optional(),
    timeoutMs: z.number().int().min(100).max(30_000).default(10_000),
    ordered: z.boolean().default(false),
    description: z.string().max(500).optional(),
    ...createFields,
    ...pollCreateFields,
  })
  .strict();

const patchSchema = z
  .object({
    topic: pattern,
    url: z.string().max(2048),
    retry,
    timeoutMs: z.number().int().min(100).max(30_000),
    ordered: z.boolean(),
    description: z.string().max(500).nullable(),
    ...patchFields,
    ...pollFields,
  })
  .strict()
  .partial();

function mergeRetry(base: RetryPolicy, patch: Partial<RetryPolicy> | undefined): RetryPolicy {
  const merged = { ...base, ...patch };
  if (merged.initialDelayMs > merged.maxDelayMs) {
    throw new ValidationError('subscription.invalid_retry', 'retry.initialDelayMs must not exceed retry.maxDelayMs.');
  }
  return merged;
}

export function subscriptionsRoutes(deps: SubscriptionRoutesDeps): Router {
  const r = Router();
  const json = express.json({ limit: '64kb', strict: true, type: () => true });

  /** The caller's subscription, or 404 (another tenant's or owner's is indistinguishable from none). */
  async function visible(req: Request): Promise<SubscriptionRecord> {
    const p = principalOf(req);
    const sub = await findSubscription(deps.pool, p.tenant, String(req.params.id));
    if (!sub || !canSeeSubscription(p, sub)) {
      throw new NotFoundError('subscription.not_found', `Subscription ${req.params.id} does not exist.`);
    }
    return sub;
  }

  function requireSubscribe(req: Request, topic: string) {
    if (!canSubscribe(principalOf(req), topic)) {
      throw new ForbiddenError('auth.forbidden', `This token may not subscribe to "${topic}".`);
    }
  }

  r.post('/v1/subscriptions', json, async (req, res) => {
    const p = principalOf(req);
    const body = parseBody(createSchema, req.body, 'subscription.invalid');
    requireSubscribe(req, body.topic);
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
    const secretValue = body.type === 'webhook' ? (body.secret ?? generateSecret()) : null;
    // A webhook of a tenant that requires it starts out waiting for its endpoint's ownership check.
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
        secret: secretValue,
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
    res
      .status(201)
      .location(`/v1/subscriptions/${sub.id}`)
      .json({ ...subscriptionView(sub), ...(secretValue ? { secret: secretValue } : {}) });
  });

  r.get('/v1/subscriptions', async (req, res) => {
    const p = principalOf(req);
    const limit = parseLimit(req.query.limit);
    const rows = await listSubscriptions(deps.pool, {
      tenant: p.tenant,
      owner: p.admin ? undefined : p.sub,
      after: decodeCursor(req.query.cursor),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    res.json({
      // A portal session sees only the owner's subscriptions its patterns cover: a page may come out short.
      items: page.filter((s) => canSeeSubscription(p, s)).map(subscriptionView),
      next: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
    });
  });

  r.get('/v1/subscriptions/:id', async (req, res) => {
    res.json(subscriptionView(await visible(req)));
  });

  r.patch('/v1/subscriptions/:id', json, async (req, res) => {
    const current = await visible(req);
    const body = parseBody(patchSchema, req.body, 'subscription.invalid');
    if (body.topic !== undefined) requireSubscribe(req, body.topic);
    if (body.url !== undefined && current.type !== 'webhook') {
      throw new ValidationError('subscription.invalid', 'url applies to webhook subscriptions only.');
    }
    assertWebhookFields(current.type, body);
    assertPollFields(current.type, body);
    const poll = new PollConsumerChanges(deps);
    const url = body.url !== undefined ? (await validateWebhookUrl(body.url, deps.addressPolicy)).toString() : undefined;
    // A new url has proved nothing yet: its verification starts over (and gates delivery where required).
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
    res.json(subscriptionView(updated));
  });

  r.delete('/v1/subscriptions/:id', async (req, res) => {
    const current = await visible(req);
    await inSubscriptionWrite(deps.pool, async (db) => {
      // Before the commit: if NATS refuses, the subscription stays as it was.
      if (await deleteSubscription(db, current.tenant, current.id)) await new PollConsumerChanges(deps).delete(current);
    });
    res.status(204).end();
  });

  r.post('/v1/subscriptions/:id/pause', async (req, res) => {
    const current = await visible(req);
    const updated = await inSubscriptionWrite(deps.pool, (db) =>
      updateSubscription(db, current.tenant, current.id, { status: 'paused' }),
    );
    res.json(subscriptionView(updated ?? current));
  });

  r.post('/v1/subscriptions/:id/resume', async (req, res) => {
    const current = await visible(req);
    // Resuming never skips a required ownership check: an unverified endpoint is challenged first.
    const status = await statusOnResume(deps, current);
    let updated = await inSubscriptionWrite(deps.pool, (db) =>
      updateSubscription(db, current.tenant, current.id, { status, disabled_reason: null }),
    );
    // Deliveries that arrived while paused were parked; they are due now.
    if (status === 'active') await releaseParkedDeliveries(deps.pool, current.id);
    else if (updated) updated = await verifySubscription(deps, updated);
    res.json(subscriptionView(updated ?? current));
  });

  r.post('/v1/subscriptions/:id/rotate-secret', async (req, res) => {
    const current = await visible(req);
    if (current.type !== 'webhook') {
      throw new ValidationError('subscription.invalid', 'Only webhook subscriptions have a signing secret.');
    }
    const next = generateSecret();
    const expires = new Date(Date.now() + ROTATION_OVERLAP_MS);
    const updated = await inSubscriptionWrite(deps.pool, (db) =>
      updateSubscription(db, current.tenant, current.id, {
        secret: next,
        previous_secret: current.secret,
        previous_secret_expires_at: expires,
      }),
    );
    res.json({ ...subscriptionView(updated ?? current), secret: next, previousSecretExpiresAt: expires.toISOString() });
  });

  return r;
}
