import { z } from 'zod';
import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { ValidationError } from '../../../shared/errors.js';
import { validateFilter } from '../../../shared/filter.js';
import { POLICY_KEYS, POLICY_LIMITS, policyOf } from '../../../shared/subscription-policy.js';
import { instant } from '../http/view-fields.js';

/**
 * The subscription fields of filtering, delivery policy and ownership verification: their request
 * schemas (merged into the create and PATCH schemas of routes/subscriptions.ts), how they are stored,
 * and how they are shown.
 */

/** `filter`: any JSON checked against the filter grammar (shared/filter.ts); issues carry their path. */
export const filterField = z
  .unknown()
  .superRefine((value, ctx) => {
    for (const issue of validateFilter(value)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .meta({ $ref: '#/components/schemas/Filter' });

const { maxInFlight, rateLimit, permanentFailureStatus, permanentFailureStatusesCount } = POLICY_LIMITS;

export const policyFields = {
  maxInFlight: z
    .number({ error: `must be an integer from ${maxInFlight.min} to ${maxInFlight.max}` })
    .int({ error: `must be an integer from ${maxInFlight.min} to ${maxInFlight.max}` })
    .min(maxInFlight.min, { error: `must be an integer from ${maxInFlight.min} to ${maxInFlight.max}` })
    .max(maxInFlight.max, { error: `must be an integer from ${maxInFlight.min} to ${maxInFlight.max}` })
    .meta({ description: 'Deliveries of this subscription in flight at once (enforced per dispatcher process). Default 100.' }),
  rateLimit: z
    .number({ error: `must be a number of deliveries per second from ${rateLimit.min} to ${rateLimit.max}, or null for none` })
    .min(rateLimit.min, { error: `must be from ${rateLimit.min} to ${rateLimit.max} deliveries per second, or null for none` })
    .max(rateLimit.max, { error: `must be from ${rateLimit.min} to ${rateLimit.max} deliveries per second, or null for none` })
    .meta({ description: 'Deliveries started per second at most; fractions allowed; null or absent: no limit.' }),
  permanentFailureStatuses: z
    .array(
      z
        .number({ error: `must be an HTTP status code from ${permanentFailureStatus.min} to ${permanentFailureStatus.max}` })
        .int({ error: `must be an HTTP status code from ${permanentFailureStatus.min} to ${permanentFailureStatus.max}` })
        .min(permanentFailureStatus.min, {
          error: `must be an HTTP status code from ${permanentFailureStatus.min} to ${permanentFailureStatus.max} (2xx is success)`,
        })
        .max(permanentFailureStatus.max, {
          error: `must be an HTTP status code from ${permanentFailureStatus.min} to ${permanentFailureStatus.max}`,
        }),
      { error: 'must be a list of HTTP status codes, e.g. [410]' },
    )
    .max(permanentFailureStatusesCount, { error: `lists at most ${permanentFailureStatusesCount} status codes` })
    .meta({ description: 'HTTP status codes that end a delivery as dead at once instead of being retried. Default [410].' }),
};

/** What a create or PATCH body may say about filter and policy (null: remove, back to the default). */
export interface FieldChanges {
  filter?: unknown;
  maxInFlight?: number | null;
  rateLimit?: number | null;
  permanentFailureStatuses?: number[] | null;
}

/** Schema members for the create body. */
export const createFields = {
  filter: filterField.nullable().optional(),
  maxInFlight: policyFields.maxInFlight.optional(),
  rateLimit: policyFields.rateLimit.nullable().optional(),
  permanentFailureStatuses: policyFields.permanentFailureStatuses.optional(),
};

/** Schema members for the PATCH body (all optional; null resets a field). */
export const patchFields = {
  filter: filterField.nullable().meta({ description: 'null removes the filter.' }),
  maxInFlight: policyFields.maxInFlight.nullable(),
  rateLimit: policyFields.rateLimit.nullable(),
  permanentFailureStatuses: policyFields.permanentFailureStatuses.nullable(),
};

/** Filter and policy apply to webhooks: the router filters and the dispatcher enforces the policy. */
export function assertWebhookFields(type: string, body: FieldChanges): void {
  if (type === 'webhook') return;
  const given = (['filter', ...POLICY_KEYS] as const).filter((k) => body[k] !== undefined && body[k] !== null);
  if (given.length) {
    throw new ValidationError('subscription.invalid', `${given.join(', ')} apply to webhook subscriptions only.`);
  }
}

/**
 * The `options` to store: `current` with the policy fields of `body` applied (null removes one, so its
 * default applies). Status codes are stored sorted and without repeats. Other keys are kept.
 */
export function mergePolicyOptions(current: Record<string, unknown>, body: FieldChanges): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  for (const key of POLICY_KEYS) {
    const v = body[key];
    if (v === undefined) continue;
    if (v === null) delete next[key];
    else next[key] = key === 'permanentFailureStatuses' ? [...new Set(v as number[])].sort((a, b) => a - b) : v;
  }
  return next;
}

/** True when `body` changes any policy field. */
export function changesPolicy(body: FieldChanges): boolean {
  return POLICY_KEYS.some((k) => body[k] !== undefined);
}

/** The view members of these fields (webhooks only): the effective policy and the verification state. */
export const webhookViewFields = {
  maxInFlight: policyFields.maxInFlight,
  rateLimit: policyFields.rateLimit.optional().meta({ description: 'Absent: no limit.' }),
  permanentFailureStatuses: policyFields.permanentFailureStatuses,
  verifiedAt: instant('When the endpoint at `url` last echoed the ownership challenge.').optional(),
  verificationError: z.string().optional().meta({ description: 'Why the latest ownership check failed.' }),
};

/** The view members of these fields: the effective policy (defaults filled in) and verification state. */
export function subscriptionFieldsView(s: SubscriptionRecord): z.output<z.ZodObject<typeof webhookViewFields>> {
  const policy = policyOf(s);
  return {
    maxInFlight: policy.maxInFlight,
    ...(policy.rateLimit !== null ? { rateLimit: policy.rateLimit } : {}),
    permanentFailureStatuses: policy.permanentFailureStatuses,
    ...(s.verifiedAt ? { verifiedAt: s.verifiedAt.toISOString() } : {}),
    ...(s.verificationError ? { verificationError: s.verificationError } : {}),
  };
}
