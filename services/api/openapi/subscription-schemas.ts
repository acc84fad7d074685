import { FILTER_LIMITS } from '../../../shared/filter.js';
import { policyFields } from '../subscriptions/subscription-fields.js';
import {
  descriptionText,
  retryPolicy,
  subscriptionCreateSchema,
  subscriptionPatchSchema,
  timeoutMs,
  topicPattern,
} from '../subscriptions/subscription-schemas.js';
import { arr, bool, dateTime, fromZod, ID, int, obj, ref, str, type Schema } from './builders.js';

/**
 * Components of the document: problems, filters and subscriptions. Request bodies, and the members a view
 * shares with them (topic, retry, timeout, policy), come from the routes' zod schemas.
 */
export function subscriptionSchemas(): Record<string, Schema> {
  const scalar: Schema = { type: ['string', 'number', 'boolean', 'null'] };
  const condition = (op: string, operand: Schema, description: string): Schema =>
    obj({ path: ref('FilterPath'), [op]: operand }, ['path', op], { description });
  const branches: Schema = arr(ref('Filter'), { minItems: 1, maxItems: FILTER_LIMITS.maxBranches });
  const subscriptionProps: Record<string, Schema> = {
    id: str({ pattern: ID }),
    topic: fromZod(topicPattern),
    type: { enum: ['webhook', 'poll'] },
    url: str({ format: 'uri' }),
    status: {
      enum: ['active', 'paused', 'disabled', 'pending_verification'],
      description: '`pending_verification`: the endpoint has not yet echoed the ownership challenge; deliveries wait.',
    },
    disabledReason: str(),
    retry: fromZod(retryPolicy.required()),
    timeoutMs: fromZod(timeoutMs),
    ordered: bool(),
    filter: ref('Filter'),
    description: fromZod(descriptionText),
    maxInFlight: fromZod(policyFields.maxInFlight),
    rateLimit: fromZod(policyFields.rateLimit, { description: 'Absent: no limit.' }),
    permanentFailureStatuses: fromZod(policyFields.permanentFailureStatuses),
    verifiedAt: dateTime('When the endpoint at `url` last echoed the ownership challenge.'),
    verificationError: str({ description: 'Why the latest ownership check failed.' }),
    health: obj(
      {
        state: { enum: ['closed', 'open', 'half_open'], description: "The endpoint's circuit breaker." },
        since: dateTime(),
        reason: str(),
        failingSince: dateTime(),
        nextProbeAt: dateTime(),
        history: arr(
          obj({ at: dateTime(), event: str(), state: { enum: ['closed', 'open', 'half_open'] }, reason: str() }, ['at', 'event', 'state']),
          { maxItems: 20, description: 'Recent transitions, newest first.' },
        ),
      },
      ['state', 'history'],
      { description: "Webhooks: the endpoint's health as the dispatchers see it." },
    ),
    ackTimeoutMs: int({ description: 'Poll: how long a handed-out message waits for its ack before it is handed out again.' }),
    maxAttempts: int({ description: 'Poll: hand-outs of one message before it is dropped.' }),
    expireAfterIdleMs: int({ description: 'Poll, session subscriptions: deleted once not polled for this long.' }),
    expiresAt: dateTime('Poll, session subscriptions: when it is deleted unless polled before; each poll moves it.'),
    createdAt: dateTime(),
    updatedAt: dateTime(),
  };
  const subscriptionRequired = ['id', 'topic', 'type', 'status', 'ordered', 'createdAt', 'updatedAt'];
  const WEBHOOK_ONLY = ['url', 'retry', 'timeoutMs', 'maxInFlight', 'rateLimit', 'permanentFailureStatuses', 'verifiedAt', 'verificationError', 'health'];
  const POLL_ONLY = ['ackTimeoutMs', 'maxAttempts'];
  const without = (names: string[]) => Object.fromEntries(Object.entries(subscriptionProps).filter(([k]) => !names.includes(k)));
  const webhookProps = without(POLL_ONLY);
  const pollProps = without(WEBHOOK_ONLY);
  const webhookRequired = [...subscriptionRequired, 'url', 'retry', 'timeoutMs', 'health'];
  const pollRequired = [...subscriptionRequired, 'ackTimeoutMs', 'maxAttempts'];
  return {
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details; `code` is a stable string to branch on.',
      properties: {
        type: str({ format: 'uri' }),
        title: str(),
        status: int({ minimum: 400, maximum: 599 }),
        detail: str(),
        code: str(),
        instance: str(),
        requestId: str(),
        errors: arr(obj({ path: str(), message: str() }, ['path', 'message']), {
          description: 'Field-level problems of a 400: where (dotted path) and what.',
        }),
      },
      required: ['type', 'title', 'status', 'detail', 'code'],
      // Some problems carry extra members (e.g. `limit`, per-ack-id `results`).
      additionalProperties: true,
    },
    FilterPath: str({
      minLength: 1,
      maxLength: FILTER_LIMITS.maxPathLength,
      pattern: '^[^.]+(\\.[^.]+)*$',
      description: `Dot-separated keys into the payload (at most ${FILTER_LIMITS.maxPathSegments}); a decimal segment also indexes an array.`,
    }),
    FilterScalar: scalar,
    Filter: {
      description:
        `A payload filter: a condition, or and/or/not of filters. At most ${FILTER_LIMITS.maxDepth} levels deep, ` +
        `${FILTER_LIMITS.maxNodes} nodes and ${FILTER_LIMITS.maxBytes} bytes. A condition on an absent path is false.`,
      oneOf: [
        condition('eq', ref('FilterScalar'), 'The value at path is exactly this scalar (no type coercion).'),
        condition('in', arr(ref('FilterScalar'), { minItems: 1, maxItems: FILTER_LIMITS.maxInValues }), 'The value at path is one of these.'),
        condition('gt', { type: 'number' }, 'The value at path is a number greater than this.'),
        condition('gte', { type: 'number' }, 'The value at path is a number greater than or equal to this.'),
        condition('lt', { type: 'number' }, 'The value at path is a number less than this.'),
        condition('lte', { type: 'number' }, 'The value at path is a number less than or equal to this.'),
        condition('exists', bool(), 'The path is present (true) or absent (false); a null value is present.'),
        obj({ and: branches }, ['and'], { description: 'Every filter matches.' }),
        obj({ or: branches }, ['or'], { description: 'Some filter matches.' }),
        obj({ not: ref('Filter') }, ['not'], { description: 'The filter does not match.' }),
      ],
    },
    Subscription: {
      description: 'A subscription shows the fields of its type only.',
      oneOf: [ref('WebhookSubscription'), ref('PollSubscription')],
    },
    WebhookSubscription: obj({ ...webhookProps, type: { const: 'webhook' } }, webhookRequired),
    PollSubscription: obj({ ...pollProps, type: { const: 'poll' } }, pollRequired),
    SubscriptionWithSecret: {
      oneOf: [
        obj(
          {
            ...webhookProps,
            type: { const: 'webhook' },
            secret: str({ pattern: '^whsec_', description: 'The signing secret; shown only here.' }),
            previousSecretExpiresAt: dateTime('Until when the rotated-out secret still signs (rotate-secret only).'),
          },
          webhookRequired,
        ),
        ref('PollSubscription'),
      ],
    },
    SubscriptionList: obj({ items: arr(ref('Subscription')), next: { type: ['string', 'null'] } }, ['items', 'next']),
    SubscriptionCreate: fromZod(subscriptionCreateSchema),
    SubscriptionPatch: fromZod(subscriptionPatchSchema),
  };
}
