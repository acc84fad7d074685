import { Router } from 'express';
import type { Pool } from '../../../shared/db/pool.js';
import { subscriptionStats, tenantStats } from '../../../shared/db/stats.js';
import { patternToRegex } from '../../../shared/topics.js';
import { principalOf } from '../middleware/auth.js';
import { breakerView, failureView, type SubscriptionStatsView, type TenantStatsView } from '../stats/stats-view.js';
import { visibleSubscription } from '../subscriptions/visible-subscription.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Answers without paging: one subscription's figures, and the tenant's (`GET /v1/stats`). */
export function statsRoutes(deps: { pool: Pool }): Router {
  const r = Router();

  r.get('/v1/subscriptions/:id/stats', async (req, res) => {
    const sub = await visibleSubscription(deps.pool, req);
    const s = await subscriptionStats(deps.pool, sub.id);
    res.json({
      subscriptionId: sub.id,
      counts: s.counts,
      lastHour: s.lastHour,
      lastDay: s.lastDay,
      lastSuccessAt: iso(s.lastSuccessAt),
      lastFailure: failureView(s.lastFailure),
      latencyMs: s.latencyMs,
      // Poll subscriptions have no endpoint, hence no breaker.
      breaker: sub.type === 'webhook' ? breakerView(sub.health) : null,
    } satisfies SubscriptionStatsView);
  });

  r.get('/v1/stats', async (req, res) => {
    const p = principalOf(req);
    const s = await tenantStats(
      deps.pool,
      { tenant: p.tenant, owner: p.admin ? undefined : p.sub },
      p.admin ? null : [...p.publish, ...p.subscribe].map(patternToRegex),
    );
    res.json({
      counts: s.counts,
      lastHour: s.lastHour,
      lastDay: s.lastDay,
      perMinute: s.perMinute.map((m) => ({ minute: m.minute.toISOString(), messages: m.messages, deliveries: m.deliveries })),
      failingSubscriptions: s.failingSubscriptions.map((f) => ({
        id: f.id,
        topic: f.topic,
        url: f.url,
        status: f.status,
        breaker: breakerView(f.health),
        lastFailure: failureView(f.lastFailure),
      })),
    } satisfies TenantStatsView);
  });

  return r;
}
