import { FILTER_LIMITS } from '../../../shared/filter.js';
import { ackSchema, attemptReportsSchema, nackSchema } from '../routes/poll.js';
import { exchangeSchema, portalSessionSchema } from '../portal/portal-links.js';
import { replaySchema } from '../routes/replay.js';
import { summarySchema } from '../routes/messages.js';
import { testSchema } from '../routes/filters.js';
import { batchRequestSchema } from '../routes/topics.js';
import { settingsSchema } from '../routes/verification.js';
import { subscriptionCreateSchema, subscriptionPatchSchema } from '../subscriptions/subscription-schemas.js';
import { arr, bool, fromZod, obj, ref, str, type Schema } from './builders.js';

/** The request bodies' components: the zod schemas the routes parse them with. */
export function requestSchemas(): Record<string, Schema> {
  return {
    SubscriptionCreate: fromZod(subscriptionCreateSchema),
    SubscriptionPatch: fromZod(subscriptionPatchSchema),
    BatchRequest: fromZod(batchRequestSchema),
    MessageSummaryRequest: fromZod(summarySchema),
    AckRequest: fromZod(ackSchema),
    NackRequest: fromZod(nackSchema),
    AttemptReports: fromZod(attemptReportsSchema),
    // The route checks presence itself: `"payload": null` is a payload, an absent one is refused.
    TestFilterRequest: fromZod(testSchema, { required: ['payload'] }),
    ReplayRequest: fromZod(replaySchema),
    PortalSessionRequest: fromZod(portalSessionSchema),
    PortalExchange: fromZod(exchangeSchema),
    TenantSettingsPatch: fromZod(settingsSchema),
  };
}

/**
 * The filter grammar, the one component written by hand: requests and answers carry a filter as any JSON
 * (`filterField`, `$ref` here), because shared/filter.ts checks it with its own parser, which enforces
 * limits (depth, nodes, bytes) a schema cannot and names the failing path. The limits shown are its own.
 */
export function filterSchemas(): Record<string, Schema> {
  const scalar: Schema = { type: ['string', 'number', 'boolean', 'null'] };
  const condition = (op: string, operand: Schema, description: string): Schema =>
    obj({ path: ref('FilterPath'), [op]: operand }, ['path', op], { description });
  const branches: Schema = arr(ref('Filter'), { minItems: 1, maxItems: FILTER_LIMITS.maxBranches });
  return {
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
  };
}
