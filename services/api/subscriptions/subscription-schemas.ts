import { z } from 'zod';
import type { RetryPolicy } from '../../../shared/backoff.js';
import { ValidationError } from '../../../shared/errors.js';
import { secretKey } from '../../../shared/signing.js';
import { isValidPattern, TOPIC_PATTERN } from '../../../shared/topics.js';
import { pollCreateFields, pollFields } from '../poll/poll-subscription.js';
import { createFields, patchFields } from './subscription-fields.js';

/**
 * The request bodies of `POST /v1/subscriptions` and `PATCH /v1/subscriptions/:id`: what the routes
 * validate, and (through zod's JSON Schema output) what the OpenAPI document says they accept.
 */

export const topicPattern = z
  .string()
  .refine(isValidPattern, {
    message: 'must be dot-separated tokens of [A-Za-z0-9_-], with * for one token and a final > for the rest',
  })
  .meta({ pattern: TOPIC_PATTERN, description: 'Topic pattern: `*` is one token, a final `>` the rest.' });

export const retryPolicy = z
  .object({
    maxAttempts: z.number().int().min(1).max(100),
    initialDelayMs: z.number().int().min(0).max(86_400_000),
    maxDelayMs: z.number().int().min(1).max(7 * 86_400_000),
    multiplier: z.number().min(1).max(10),
  })
  .strict()
  .partial();

const secret = z
  .string()
  .refine(
    (s) => {
      try {
        secretKey(s);
        return s.startsWith('whsec_');
      } catch {
        return false;
      }
    },
    { message: 'must be "whsec_" followed by base64 of 24 to 64 random bytes' },
  )
  .meta({ pattern: '^whsec_', description: 'Bring your own signing secret; one is generated otherwise.' });

export const timeoutMs = z.number().int().min(100).max(30_000);
export const descriptionText = z.string().max(500);

export const subscriptionCreateSchema = z
  .object({
    topic: topicPattern,
    type: z.enum(['webhook', 'poll']).default('webhook'),
    url: z.string().max(2048).optional().meta({ description: 'Webhook target: http(s), not a private address.' }),
    secret: secret.optional(),
    retry: retryPolicy.optional(),
    timeoutMs: timeoutMs.default(10_000),
    ordered: z.boolean().default(false),
    description: descriptionText.optional(),
    ...createFields,
    ...pollCreateFields,
  })
  .strict();

export const subscriptionPatchSchema = z
  .object({
    topic: topicPattern,
    url: z.string().max(2048),
    retry: retryPolicy,
    timeoutMs,
    ordered: z.boolean(),
    description: descriptionText.nullable(),
    ...patchFields,
    ...pollFields,
  })
  .strict()
  .partial();

export type SubscriptionCreate = z.infer<typeof subscriptionCreateSchema>;
export type SubscriptionPatch = z.infer<typeof subscriptionPatchSchema>;

/** `patch` applied over `base`, refused when the first delay would exceed the longest. */
export function mergeRetry(base: RetryPolicy, patch: Partial<RetryPolicy> | undefined): RetryPolicy {
  const merged = { ...base, ...patch };
  if (merged.initialDelayMs > merged.maxDelayMs) {
    throw new ValidationError('subscription.invalid_retry', 'retry.initialDelayMs must not exceed retry.maxDelayMs.');
  }
  return merged;
}
