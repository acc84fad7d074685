import { Router, type Request } from 'express';
import { canSeeSubscription, canSubscribe } from '../../../shared/auth/principal.js';
import { listSubscriptions } from '../../../shared/db/subscriptions.js';
import { ForbiddenError } from '../../../shared/errors.js';
import { decodeCursor, encodeCursor, parseBody, parseLimit } from '../http/validate.js';
import { principalOf } from '../middleware/auth.js';
import { changeSubscription } from '../subscriptions/change-subscription.js';
import { createSubscription } from '../subscriptions/create-subscription.js';
import type { SubscriptionDeps } from '../subscriptions/subscription-deps.js';
import { pauseSubscription, removeSubscription, resumeSubscription, rotateSubscriptionSecret } from '../subscriptions/subscription-lifecycle.js';
import { subscriptionCreateSchema, subscriptionPatchSchema } from '../subscriptions/subscription-schemas.js';
import { subscriptionView, subscriptionWithSecret, type SubscriptionList } from '../subscriptions/subscription-view.js';
import { visibleSubscription } from '../subscriptions/visible-subscription.js';
import { jsonBody } from '../http/json-body.js';

export type SubscriptionRoutesDeps = SubscriptionDeps;

/** The subscription resource over HTTP: parse, check grants, call the use case, answer with the view. */
export function subscriptionsRoutes(deps: SubscriptionRoutesDeps): Router {
  const r = Router();
  const json = jsonBody('64kb');

  function requireSubscribe(req: Request, topic: string) {
    if (!canSubscribe(principalOf(req), topic)) {
      throw new ForbiddenError('auth.forbidden', `This token may not subscribe to "${topic}".`);
    }
  }

  r.post('/v1/subscriptions', json, async (req, res) => {
    const body = parseBody(subscriptionCreateSchema, req.body, 'subscription.invalid');
    requireSubscribe(req, body.topic);
    const { sub, secret } = await createSubscription(deps, principalOf(req), body);
    res
      .status(201)
      .location(`/v1/subscriptions/${sub.id}`)
      .json(subscriptionWithSecret(sub, secret));
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
    } satisfies SubscriptionList);
  });

  r.get('/v1/subscriptions/:id', async (req, res) => {
    res.json(subscriptionView(await visibleSubscription(deps.pool, req)));
  });

  r.patch('/v1/subscriptions/:id', json, async (req, res) => {
    const current = await visibleSubscription(deps.pool, req);
    const body = parseBody(subscriptionPatchSchema, req.body, 'subscription.invalid');
    if (body.topic !== undefined) requireSubscribe(req, body.topic);
    res.json(subscriptionView(await changeSubscription(deps, current, body)));
  });

  r.delete('/v1/subscriptions/:id', async (req, res) => {
    await removeSubscription(deps, await visibleSubscription(deps.pool, req));
    res.status(204).end();
  });

  r.post('/v1/subscriptions/:id/pause', async (req, res) => {
    res.json(subscriptionView(await pauseSubscription(deps, await visibleSubscription(deps.pool, req))));
  });

  r.post('/v1/subscriptions/:id/resume', async (req, res) => {
    res.json(subscriptionView(await resumeSubscription(deps, await visibleSubscription(deps.pool, req))));
  });

  r.post('/v1/subscriptions/:id/rotate-secret', async (req, res) => {
    const { sub, secret, previousSecretExpiresAt } = await rotateSubscriptionSecret(deps, await visibleSubscription(deps.pool, req));
    res.json(subscriptionWithSecret(sub, secret, previousSecretExpiresAt));
  });

  return r;
}
