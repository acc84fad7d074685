import { Router } from 'express';
import { z } from 'zod';
import { findTenantSettings, updateTenantSettings, type TenantSettings } from '../../../shared/db/tenant-settings.js';
import { ForbiddenError, ValidationError } from '../../../shared/errors.js';
import { principalOf } from '../middleware/auth.js';
import { verifySubscription, type VerificationDeps } from '../subscriptions/endpoint-verification.js';
import { subscriptionView } from '../subscriptions/subscription-view.js';
import { visibleSubscription } from '../subscriptions/visible-subscription.js';
import { parseBody } from '../http/validate.js';
import { instant } from '../http/view-fields.js';
import { DEFAULT_TENANT_QUOTAS, quotasSchema, quotasView, type TenantQuotas } from '../subscriptions/tenant-quotas.js';
import { jsonBody } from '../http/json-body.js';

const quota = z
  .number({ error: 'must be an integer from 0 to 1000000, or null for the installation default' })
  .int()
  .min(0)
  .max(1_000_000)
  .nullable()
  .meta({ description: 'null: back to the installation default.' });

export const settingsSchema = z
  .object({
    verifyEndpoints: z
      .boolean({ error: 'must be true, false, or null for the installation default' })
      .nullable()
      .meta({ description: 'null: back to the installation default.' }),
    quotas: z.object({ subscriptions: quota, pollSubscriptions: quota, streams: quota }).strict().partial(),
  })
  .strict()
  .partial();

export const tenantSettingsViewSchema = z.object({
  tenant: z.string(),
  verifyEndpoints: z.boolean().meta({ description: 'Whether new and re-pointed webhook endpoints must pass the ownership check.' }),
  verifyEndpointsSource: z.enum(['tenant', 'default']),
  quotas: quotasSchema,
  updatedAt: instant().optional(),
});

function settingsView(s: TenantSettings, defaultOn: boolean, quotas: TenantQuotas): z.output<typeof tenantSettingsViewSchema> {
  return {
    tenant: s.tenant,
    verifyEndpoints: s.verifyEndpoints ?? defaultOn,
    verifyEndpointsSource: s.verifyEndpoints === null ? 'default' : 'tenant',
    quotas: quotasView(s, quotas),
    ...(s.updatedAt ? { updatedAt: s.updatedAt.toISOString() } : {}),
  };
}

/**
 * The endpoint ownership check on demand, and the tenant settings: whether the check is required, and the
 * tenant's quotas. Changing settings (quotas included) takes the tenant's admin scope.
 */
export function verificationRoutes(deps: VerificationDeps & { tenantQuotas?: TenantQuotas }): Router {
  const r = Router();
  const json = jsonBody('4kb');
  const defaultOn = deps.verifyEndpoints ?? false;
  const quotas = deps.tenantQuotas ?? DEFAULT_TENANT_QUOTAS;

  r.post('/v1/subscriptions/:id/verify', async (req, res) => {
    const sub = await visibleSubscription(deps.pool, req);
    if (sub.type !== 'webhook') {
      throw new ValidationError('subscription.invalid', 'Only webhook subscriptions have an endpoint to verify.');
    }
    res.json(subscriptionView(await verifySubscription(deps, sub)));
  });

  r.get('/v1/tenant/settings', async (req, res) => {
    const p = principalOf(req);
    res.json(settingsView(await findTenantSettings(deps.pool, p.tenant), defaultOn, quotas));
  });

  r.patch('/v1/tenant/settings', json, async (req, res) => {
    const p = principalOf(req);
    if (!p.admin) throw new ForbiddenError('auth.forbidden', 'Changing tenant settings needs the admin scope.');
    const body = parseBody(settingsSchema, req.body, 'settings.invalid');
    res.json(settingsView(await updateTenantSettings(deps.pool, p.tenant, body), defaultOn, quotas));
  });

  return r;
}
