import { FILTER_LIMITS } from '../../shared/filter.js';
import { POLICY_LIMITS } from '../../shared/subscription-policy.js';
import { MAX_REPLAY_MESSAGES } from './deliveries/replay-subscription.js';
import { VERSION } from '../../shared/version.js';

/**
 * The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`. Written by hand, next to the
 * routes it describes; test/integration/openapi.test.ts walks the express router of `buildApp` and fails
 * when a route is missing here (or documented but gone), and validates a representative response of
 * every route against the schema given here. Response objects are closed (`additionalProperties: false`)
 * so a field added to a view without being documented fails that test too.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const bool = (extra: Schema = {}): Schema => ({ type: 'boolean', ...extra });
const dateTime = (description?: string): Schema => ({ type: 'string', format: 'date-time', ...(description ? { description } : {}) });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });

/** A closed object: `required` lists the members always present. */
function obj(properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

const json = (schema: Schema, description: string) => ({ description, content: { 'application/json': { schema } } });
const problemRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

const ID = '^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$';
const TOPIC_PATTERN = '^[A-Za-z0-9_*>-]+(\\.[A-Za-z0-9_*>-]+)*$';

const pathParam = (name: string, description: string, schema: Schema = str()) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
});

/** The errors every authenticated operation can answer. */
const AUTH_ERRORS = { '401': problemRef('Unauthorized'), '500': problemRef('Internal') };

function op(summary: string, responses: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { summary, ...extra, responses: { ...responses, ...AUTH_ERRORS } };
}

function body(schema: Schema, description?: string) {
  return { required: true, ...(description ? { description } : {}), content: { 'application/json': { schema } } };
}

const subscriptionId = pathParam('id', 'A subscription id (`sub_…`).');
const deliveryIdParam = pathParam('id', 'A delivery id (`dlv_…`).');

function schemas(): Record<string, Schema> {
  const { maxInFlight, rateLimit, permanentFailureStatus, permanentFailureStatusesCount } = POLICY_LIMITS;
  const scalar: Schema = { type: ['string', 'number', 'boolean', 'null'] };
  const condition = (op: string, operand: Schema, description: string): Schema =>
    obj({ path: ref('FilterPath'), [op]: operand }, ['path', op], { description });
  const branches: Schema = arr(ref('Filter'), { minItems: 1, maxItems: FILTER_LIMITS.maxBranches });
  const policyDoc = {
    maxInFlight: int({
      minimum: maxInFlight.min,
      maximum: maxInFlight.max,
      description: 'Deliveries of this subscription in flight at once (enforced per dispatcher process). Default 100.',
    }),
    rateLimit: {
      type: ['number', 'null'],
      minimum: rateLimit.min,
      maximum: rateLimit.max,
      description: 'Deliveries started per second at most; fractions allowed; null or absent: no limit.',
    },
    permanentFailureStatuses: arr(int({ minimum: permanentFailureStatus.min, maximum: permanentFailureStatus.max }), {
      maxItems: permanentFailureStatusesCount,
      description: 'HTTP status codes that end a delivery as dead at once instead of being retried. Default [410].',
    }),
  };
  const retryFields = {
    maxAttempts: int({ minimum: 1, maximum: 100 }),
    initialDelayMs: int({ minimum: 0, maximum: 86_400_000 }),
    maxDelayMs: int({ minimum: 1, maximum: 7 * 86_400_000 }),
    multiplier: { type: 'number', minimum: 1, maximum: 10 },
  };
  const subscriptionProps: Record<string, Schema> = {
    id: str({ pattern: ID }),
    topic: str({ pattern: TOPIC_PATTERN, description: 'Topic pattern: `*` is one token, a final `>` the rest.' }),
    type: { enum: ['webhook', 'poll'] },
    url: str({ format: 'uri' }),
    status: {
      enum: ['active', 'paused', 'disabled', 'pending_verification'],
      description: '`pending_verification`: the endpoint has not yet echoed the ownership challenge; deliveries wait.',
    },
    disabledReason: str(),
    retry: obj(retryFields, ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'multiplier']),
    timeoutMs: int({ minimum: 100, maximum: 30_000 }),
    ordered: bool(),
    filter: ref('Filter'),
    description: str({ maxLength: 500 }),
    maxInFlight: policyDoc.maxInFlight,
    rateLimit: { type: 'number', minimum: rateLimit.min, maximum: rateLimit.max, description: 'Absent: no limit.' },
    permanentFailureStatuses: policyDoc.permanentFailureStatuses,
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
  const deliveryProps: Record<string, Schema> = {
    id: str({ pattern: '^dlv_' }),
    messageId: str({ pattern: ID }),
    subscriptionId: str({ pattern: ID }),
    status: ref('DeliveryStatus'),
    attemptCount: int({ minimum: 0 }),
    lastStatusCode: int(),
    lastError: str(),
    nextAttemptAt: dateTime('When a parked retry is due.'),
    parked: { const: true, description: 'Waiting until its subscription is resumed or verified.' },
    inFlight: obj(
      {
        attempt: int({ minimum: 1, description: 'The attempt out at the endpoint (its hookline-attempt header).' }),
        since: dateTime('When it went out.'),
        awaitingTakeover: bool({
          description:
            'The dispatcher process sending it has stopped (crash, kill): another takes the job over within ' +
            'HOOKLINE_ACK_WAIT_S of its last sign of life, records this attempt as interrupted and sends the next.',
        }),
      },
      ['attempt', 'since', 'awaitingTakeover'],
      { description: 'Present while an attempt has been sent and its result is not recorded yet.' },
    ),
    createdAt: dateTime(),
    updatedAt: dateTime(),
  };
  const deliveryRequired = ['id', 'messageId', 'subscriptionId', 'status', 'attemptCount', 'createdAt', 'updatedAt'];
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
    SubscriptionCreate: obj(
      {
        topic: subscriptionProps.topic!,
        type: { enum: ['webhook', 'poll'], default: 'webhook' },
        url: str({ maxLength: 2048, description: 'Webhook target: http(s), not a private address.' }),
        secret: str({ pattern: '^whsec_', description: 'Bring your own signing secret; one is generated otherwise.' }),
        retry: obj(retryFields),
        timeoutMs: int({ minimum: 100, maximum: 30_000, default: 10_000 }),
        ordered: bool({ default: false }),
        description: str({ maxLength: 500 }),
        filter: { oneOf: [ref('Filter'), { type: 'null' }] },
        ...policyDoc,
        ackTimeoutMs: int({ minimum: 1000, maximum: 12 * 3600_000 }),
        maxAttempts: int({ minimum: 1, maximum: 100 }),
        expireAfterIdleMs: int({
          minimum: 5_000,
          maximum: 7 * 24 * 3600_000,
          description: 'Poll: a session subscription, deleted with its cursor once nobody has polled it for this long (`hookline listen` sets it).',
        }),
        since: {
          oneOf: [int({ minimum: 0 }), dateTime()],
          description: 'Poll: start with the retained messages after this stream sequence, or published at or after this time, instead of from now on.',
        },
      },
      ['topic'],
    ),
    SubscriptionPatch: obj({
      topic: subscriptionProps.topic!,
      url: str({ maxLength: 2048 }),
      retry: obj(retryFields),
      timeoutMs: int({ minimum: 100, maximum: 30_000 }),
      ordered: bool(),
      description: { type: ['string', 'null'], maxLength: 500 },
      filter: { oneOf: [ref('Filter'), { type: 'null' }], description: 'null removes the filter.' },
      maxInFlight: { ...policyDoc.maxInFlight, type: ['integer', 'null'] },
      rateLimit: policyDoc.rateLimit,
      permanentFailureStatuses: { ...policyDoc.permanentFailureStatuses, type: ['array', 'null'] },
      ackTimeoutMs: int({ minimum: 1000, maximum: 12 * 3600_000 }),
      maxAttempts: int({ minimum: 1, maximum: 100 }),
    }),
    DeliveryStatus: { enum: ['pending', 'failed', 'succeeded', 'dead'] },
    DeliverySummary: obj(deliveryProps, deliveryRequired),
    DeliveryList: obj({ items: arr(ref('DeliverySummary')), next: { type: ['string', 'null'] } }, ['items', 'next']),
    Attempt: obj(
      {
        n: int({ minimum: 1 }),
        outcome: {
          enum: ['succeeded', 'failed', 'interrupted'],
          description:
            'succeeded: a 2xx. failed: any other answer, a timeout or a network error. interrupted: the process ' +
            'sending it stopped before recording a result, so whether the endpoint received it is unknown; the ' +
            'next attempt follows at once.',
        },
        startedAt: dateTime(),
        durationMs: int({ minimum: 0 }),
        statusCode: int(),
        error: str(),
        responseExcerpt: str({ maxLength: 1024 }),
      },
      ['n', 'outcome', 'startedAt', 'durationMs'],
    ),
    Delivery: obj({ ...deliveryProps, attempts: arr(ref('Attempt')) }, [...deliveryRequired, 'attempts']),
    Message: obj(
      {
        id: str({ pattern: ID }),
        topic: str(),
        publishedAt: dateTime(),
        data: { description: 'The payload as published; null once retention dropped it.' },
        deliveries: arr(ref('DeliverySummary'), {
          description: 'Admins see every delivery in their tenant; others only those of subscriptions they own.',
        }),
        settled: bool({ description: 'Every delivery listed succeeded or is dead.' }),
      },
      ['id', 'topic', 'publishedAt', 'data', 'deliveries', 'settled'],
    ),
    Published: obj({ id: str({ pattern: ID }), topic: str(), publishedAt: dateTime() }, ['id', 'topic', 'publishedAt']),
    BatchRequest: obj({ messages: arr({}, { minItems: 1, maxItems: 1000 }) }, ['messages']),
    BatchPublished: obj({ ids: arr(str({ pattern: ID })), topic: str(), publishedAt: dateTime() }, ['ids', 'topic', 'publishedAt']),
    StateCounts: obj(
      { pending: int({ minimum: 0 }), failed: int({ minimum: 0 }), succeeded: int({ minimum: 0 }), dead: int({ minimum: 0 }), total: int({ minimum: 0 }) },
      ['pending', 'failed', 'succeeded', 'dead', 'total'],
      { description: 'Deliveries by state, from one snapshot: the four add up to total.' },
    ),
    StatsWindow: obj(
      {
        attempts: int({ minimum: 0 }),
        succeeded: int({ minimum: 0 }),
        failed: int({ minimum: 0 }),
        successRate: { type: ['number', 'null'], minimum: 0, maximum: 1, description: 'succeeded / attempts; null without attempts.' },
      },
      ['attempts', 'succeeded', 'failed', 'successRate'],
      { description: 'Webhook attempts in whole minutes: the current one and the 59 (1,439) before it.' },
    ),
    LastFailure: {
      oneOf: [
        obj({ at: dateTime(), error: { type: ['string', 'null'] }, statusCode: { type: ['integer', 'null'] } }, ['at', 'error', 'statusCode']),
        { type: 'null' },
      ],
    },
    Breaker: obj(
      { state: { enum: ['closed', 'open', 'half_open'] }, since: dateTime(), reason: str(), failingSince: dateTime(), nextProbeAt: dateTime() },
      ['state'],
      { description: "The endpoint's circuit breaker (without its history)." },
    ),
    SubscriptionStats: obj(
      {
        subscriptionId: str({ pattern: ID }),
        counts: ref('StateCounts'),
        lastHour: ref('StatsWindow'),
        lastDay: ref('StatsWindow'),
        lastSuccessAt: { type: ['string', 'null'], format: 'date-time' },
        lastFailure: ref('LastFailure'),
        latencyMs: {
          oneOf: [obj({ p50: int({ minimum: 0 }), p95: int({ minimum: 0 }) }, ['p50', 'p95']), { type: 'null' }],
          description: "The last hour's attempt durations, estimated from a histogram; null without attempts.",
        },
        breaker: { oneOf: [ref('Breaker'), { type: 'null' }], description: 'null for poll subscriptions.' },
      },
      ['subscriptionId', 'counts', 'lastHour', 'lastDay', 'lastSuccessAt', 'lastFailure', 'latencyMs', 'breaker'],
    ),
    TenantStats: obj(
      {
        counts: ref('StateCounts'),
        lastHour: ref('StatsWindow'),
        lastDay: ref('StatsWindow'),
        perMinute: arr(obj({ minute: dateTime(), messages: int({ minimum: 0 }), deliveries: int({ minimum: 0 }) }, ['minute', 'messages', 'deliveries']), {
          minItems: 60,
          maxItems: 60,
          description: 'The last 60 minutes, oldest first: messages published (that the caller may read) and deliveries created.',
        }),
        failingSubscriptions: arr(
          obj(
            { id: str({ pattern: ID }), topic: str(), url: { type: ['string', 'null'] }, status: str(), breaker: ref('Breaker'), lastFailure: ref('LastFailure') },
            ['id', 'topic', 'url', 'status', 'breaker', 'lastFailure'],
          ),
          { maxItems: 100, description: 'Webhooks whose breaker is not closed, whose failures run unbroken, or that are disabled.' },
        ),
      },
      ['counts', 'lastHour', 'lastDay', 'perMinute', 'failingSubscriptions'],
    ),
    MessagePage: obj(
      {
        items: arr(
          obj(
            { id: str({ pattern: ID }), topic: str(), publishedAt: dateTime(), deliveries: ref('StateCounts'), settled: bool() },
            ['id', 'topic', 'publishedAt', 'deliveries', 'settled'],
          ),
        ),
        next: { type: ['string', 'null'] },
      },
      ['items', 'next'],
    ),
    MessageSummary: obj(
      {
        total: int({ minimum: 0, description: 'Distinct ids asked about.' }),
        settled: int({ minimum: 0, description: 'Of those, messages whose every delivery has succeeded or is dead.' }),
        counts: ref('StateCounts'),
        missing: arr(str(), { description: 'Ids not known (not routed yet, another tenant\'s, or out of the caller\'s grants).' }),
      },
      ['total', 'settled', 'counts', 'missing'],
    ),
    MessageSummaryRequest: obj({ ids: arr(str({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 1000 }) }, ['ids']),
    PolledMessages: obj(
      {
        messages: arr(
          obj(
            { id: str({ pattern: ID }), topic: str(), publishedAt: dateTime(), data: {}, ackId: str(), attempt: int({ minimum: 1 }) },
            ['id', 'topic', 'publishedAt', 'data', 'ackId', 'attempt'],
          ),
        ),
      },
      ['messages'],
    ),
    AckRequest: obj({ ackIds: arr(str({ minLength: 1 }), { minItems: 1, maxItems: 1000 }), attempts: ref('AttemptReports') }, ['ackIds']),
    NackRequest: obj(
      {
        ackIds: arr(str({ minLength: 1 }), { minItems: 1, maxItems: 1000 }),
        delayMs: int({ minimum: 0, maximum: 3_600_000 }),
        attempts: ref('AttemptReports'),
      },
      ['ackIds'],
    ),
    AttemptReports: arr(
      obj(
        {
          ackId: str({ minLength: 1, description: 'One of ackIds.' }),
          durationMs: int({ minimum: 0, maximum: 86_400_000 }),
          statusCode: int({ minimum: 100, maximum: 599 }),
          error: str({ maxLength: 1000 }),
          responseExcerpt: str({ maxLength: 1000 }),
        },
        ['ackId', 'durationMs'],
      ),
      {
        maxItems: 1000,
        description:
          'What the poller did with each message when it passed it on (as `hookline listen` does): each becomes the ' +
          'attempt of that hand-out in the delivery\'s attempt log (`GET /v1/deliveries/{id}`).',
      },
    ),
    SettleResults: obj(
      { results: arr(obj({ ackId: str(), messageId: str(), status: { enum: ['acked', 'nacked'] } }, ['ackId', 'messageId', 'status'])) },
      ['results'],
    ),
    TestFilterRequest: {
      type: 'object',
      properties: {
        payload: { description: 'A sample message payload (any JSON).' },
        filter: { oneOf: [ref('Filter'), { type: 'null' }], description: 'Try this filter instead of the saved one.' },
      },
      required: ['payload'],
      additionalProperties: false,
    },
    TestFilterResult: obj({ matches: bool() }, ['matches']),
    ReplayRequest: obj(
      {
        since: dateTime('Start of the window (inclusive), by publish time.'),
        until: dateTime('End of the window (exclusive); default now. The window spans at most 31 days.'),
        status: { enum: ['failed', 'succeeded', 'dead'], description: 'Only messages whose delivery is in this state.' },
        dryRun: bool({ default: false, description: 'Count, send nothing.' }),
      },
      ['since'],
    ),
    ReplayResult: obj(
      {
        dryRun: bool(),
        count: int({ minimum: 0, maximum: MAX_REPLAY_MESSAGES, description: 'Messages (to be) sent again: created + resent.' }),
        created: int({ minimum: 0, description: 'Deliveries created for messages the subscription never had one for.' }),
        resent: int({ minimum: 0, description: 'Existing deliveries made due again.' }),
        alreadyPending: int({ minimum: 0, description: 'Matching messages already on their way (not sent twice).' }),
        notRetained: int({ minimum: 0, description: 'Matching messages the stream no longer holds.' }),
        since: dateTime(),
        until: dateTime(),
      },
      ['dryRun', 'count', 'created', 'resent', 'alreadyPending', 'notRetained', 'since', 'until'],
    ),
    TenantSettings: obj(
      {
        tenant: str(),
        verifyEndpoints: bool({ description: 'Whether new and re-pointed webhook endpoints must pass the ownership check.' }),
        verifyEndpointsSource: { enum: ['tenant', 'default'] },
        quotas: obj(
          {
            subscriptions: ref('Quota'),
            pollSubscriptions: ref('Quota'),
            streams: ref('Quota'),
          },
          ['subscriptions', 'pollSubscriptions', 'streams'],
          { description: 'What the tenant may hold at once: live subscriptions, poll subscriptions, open SSE streams plus WebSockets.' },
        ),
        updatedAt: dateTime(),
      },
      ['tenant', 'verifyEndpoints', 'verifyEndpointsSource', 'quotas'],
    ),
    Quota: obj(
      {
        limit: int({ minimum: 0 }),
        source: { enum: ['tenant', 'default'], description: 'The tenant\'s override, or the installation default (HOOKLINE_TENANT_MAX_*).' },
      },
      ['limit', 'source'],
    ),
    PortalSessionRequest: obj(
      {
        tenant: str({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Defaults to the caller\'s tenant; another tenant is refused.' }),
        subject: str({ minLength: 1, maxLength: 200, description: 'The principal (`sub`) whose subscriptions the portal shows and creates.' }),
        topics: arr(str({ pattern: TOPIC_PATTERN }), { minItems: 1, maxItems: 20, description: 'Topic patterns the session may see and subscribe to.' }),
        ttl: int({ minimum: 30, maximum: 3600, default: 600, description: 'Seconds the link stays valid unopened.' }),
        sessionTtl: int({ minimum: 60, maximum: 86400, default: 3600, description: 'Seconds the session lasts once opened.' }),
      },
      ['subject', 'topics'],
    ),
    PortalLink: obj(
      {
        url: str({ description: 'Single-use link into /portal; the code is in the fragment, so no server logs it.' }),
        expiresAt: str({ format: 'date-time' }),
      },
      ['url', 'expiresAt'],
    ),
    PortalExchange: obj({ code: str({ minLength: 20, maxLength: 100, description: 'The code after `#code=` in the link.' }) }, ['code']),
    PortalSession: obj(
      {
        token: str({ description: 'A JWT limited to the subject\'s subscriptions on the topics: `subscribe:` grants only, no publish, no admin.' }),
        expiresAt: str({ format: 'date-time' }),
        tenant: str(),
        subject: str(),
        topics: arr(str()),
      },
      ['token', 'expiresAt', 'tenant', 'subject', 'topics'],
    ),
    TenantSettingsPatch: obj({
      verifyEndpoints: { type: ['boolean', 'null'], description: 'null: back to the installation default.' },
      quotas: obj(
        Object.fromEntries(
          ['subscriptions', 'pollSubscriptions', 'streams'].map((q) => [
            q,
            { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000, description: 'null: back to the installation default.' },
          ]),
        ),
      ),
    }),
  };
}

function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: ref('Problem') } } };
}

function paths(): Record<string, unknown> {
  const notFound = problemRef('NotFound');
  const invalid = problemRef('BadRequest');
  const forbidden = problemRef('Forbidden');
  const conflict = problemRef('Conflict');
  const unavailable = problemRef('Unavailable');
  const tooMany = problemRef('TooManyRequests');
  const idempotencyConflict = problemResponse(
    '`idempotency.key_reused`: the Idempotency-Key was used for a different request (another body, or a single ' +
      'publish against a batch) within the idempotency window; nothing was stored.',
  );
  const idempotencyKey = {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Repeats of the same request within HOOKLINE_IDEMPOTENCY_WINDOW_S answer the original ids with `Idempotent-Replayed: true`; ' +
      'the key with a different request answers 409.',
    schema: str({ minLength: 1, maxLength: 255 }),
  };
  const open = { security: [] };
  return {
    '/healthz': {
      get: {
        summary: 'Liveness',
        ...open,
        responses: { '200': json(obj({ status: { const: 'ok' } }, ['status']), 'The process is alive.') },
      },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: accepting traffic, NATS and Postgres reachable',
        ...open,
        responses: Object.fromEntries(
          ['200', '503'].map((s) => [
            s,
            json(
              obj(
                { status: { enum: ['ready', 'unavailable'] }, checks: { type: 'object', additionalProperties: bool() } },
                ['status', 'checks'],
              ),
              s === '200' ? 'Ready.' : 'Not ready; `checks` says what is missing.',
            ),
          ]),
        ),
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        ...open,
        responses: { '200': { description: 'Prometheus text format.', content: { 'text/plain': { schema: str() } } } },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document',
        ...open,
        responses: { '200': json({ type: 'object', required: ['openapi', 'info', 'paths'] }, 'The OpenAPI 3.1 document.') },
      },
    },
    '/v1/topics/{topic}/messages': {
      post: op(
        'Publish one message',
        {
          '202': {
            ...json(ref('Published'), 'Stored in JetStream; every matching delivery will be made.'),
            headers: { 'Idempotent-Replayed': { description: '`true` when an earlier publish with the same Idempotency-Key answered.', schema: str() } },
          },
          '400': invalid,
          '403': forbidden,
          '409': idempotencyConflict,
          '413': problemRef('PayloadTooLarge'),
          '415': problemRef('UnsupportedMediaType'),
          '503': unavailable,
        },
        {
          parameters: [
            pathParam('topic', 'The topic: dot-separated tokens of [A-Za-z0-9_-].'),
            idempotencyKey,
          ],
          requestBody: body({ description: 'Any JSON value: the payload.' }),
        },
      ),
    },
    '/v1/topics/{topic}/batch': {
      post: op(
        'Publish up to 1000 messages',
        {
          '202': {
            ...json(ref('BatchPublished'), 'All stored.'),
            headers: { 'Idempotent-Replayed': { description: '`true` when an earlier publish with the same Idempotency-Key answered.', schema: str() } },
          },
          '400': invalid,
          '403': forbidden,
          '409': idempotencyConflict,
          '413': problemRef('PayloadTooLarge'),
          '415': problemRef('UnsupportedMediaType'),
          '503': unavailable,
        },
        {
          parameters: [
            pathParam('topic', 'The topic.'),
            idempotencyKey,
          ],
          requestBody: body(ref('BatchRequest')),
        },
      ),
    },
    '/v1/topics/{pattern}/stream': {
      get: op(
        'Server-Sent Events of the messages matching a pattern',
        {
          '200': {
            description:
              'An event stream: `id: <stream sequence>`, `data: {"id","topic","publishedAt","data"}` (event name `message`; ' +
              'with `events=topic`, `event: <topic>`); ' +
              'a final `event: error` says why the server ended it.',
            content: { 'text/event-stream': { schema: str() } },
          },
          '400': invalid,
          '403': forbidden,
          '429': tooMany,
          '503': unavailable,
        },
        {
          parameters: [
            pathParam('pattern', 'A topic pattern.'),
            { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this stream sequence.', schema: str({ pattern: '^\\d+$' }) },
            { name: 'from', in: 'query', required: false, description: 'Resume after this stream sequence.', schema: str({ pattern: '^\\d+$' }) },
            {
              name: 'events',
              in: 'query',
              required: false,
              description: '`message` (default: every event fires EventSource.onmessage) or `topic` (events named by topic).',
              schema: { enum: ['message', 'topic'], default: 'message' },
            },
            { name: 'access_token', in: 'query', required: false, description: 'The bearer token, for clients that cannot set headers.', schema: str() },
          ],
        },
      ),
    },
    '/v1/ws': {
      get: {
        summary: 'WebSocket twin of the event stream (HTTP upgrade)',
        description:
          'Client frames: `{"type":"subscribe","pattern","from"?}`, `{"type":"unsubscribe","pattern"}`, `{"type":"ping"}`. ' +
          'Server frames: `subscribed`, `unsubscribed`, `pong`, `message` `{pattern, seq, id, topic, publishedAt, data}`, `error` `{code, message, pattern?}`.',
        'x-hookline-upgrade': 'websocket',
        parameters: [{ name: 'access_token', in: 'query', required: false, schema: str() }],
        responses: {
          '101': { description: 'Switching protocols.' },
          '401': problemRef('Unauthorized'),
          '429': tooMany,
          '503': unavailable,
        },
      },
    },
    '/v1/subscriptions': {
      post: op(
        'Create a subscription',
        {
          '201': {
            ...json(ref('SubscriptionWithSecret'), 'Created. A webhook carries its `secret` here, and only here.'),
            headers: { Location: { schema: str() } },
          },
          '400': invalid,
          '403': problemResponse('The token may not subscribe to the topic, or (`quota.exceeded`) the tenant holds its quota of subscriptions or poll subscriptions.'),
          '503': unavailable,
        },
        { requestBody: body(ref('SubscriptionCreate')) },
      ),
      get: op(
        'List subscriptions (oldest first)',
        { '200': json(ref('SubscriptionList'), 'A page.'), '400': invalid },
        {
          parameters: [
            { name: 'limit', in: 'query', required: false, schema: int({ minimum: 1, maximum: 200, default: 50 }) },
            { name: 'cursor', in: 'query', required: false, schema: str() },
          ],
        },
      ),
    },
    '/v1/subscriptions/{id}': {
      parameters: [subscriptionId],
      get: op('Read a subscription', { '200': json(ref('Subscription'), 'The subscription.'), '404': notFound }),
      patch: op(
        'Change a subscription',
        { '200': json(ref('Subscription'), 'Changed. A new url starts a new ownership check where it is required.'), '400': invalid, '403': forbidden, '404': notFound, '503': unavailable },
        { requestBody: body(ref('SubscriptionPatch')) },
      ),
      delete: op('Delete a subscription', { '204': { description: 'Deleted.' }, '404': notFound, '503': unavailable }),
    },
    '/v1/subscriptions/{id}/pause': {
      parameters: [subscriptionId],
      post: op('Stop delivering (messages wait)', { '200': json(ref('Subscription'), 'Paused.'), '404': notFound }),
    },
    '/v1/subscriptions/{id}/resume': {
      parameters: [subscriptionId],
      post: op('Deliver again, including what waited', {
        '200': json(ref('Subscription'), 'Active, or pending_verification when an unverified endpoint must pass the check first.'),
        '404': notFound,
      }),
    },
    '/v1/subscriptions/{id}/rotate-secret': {
      parameters: [subscriptionId],
      post: op('New signing secret (the old one signs beside it for 24 h)', {
        '200': json(ref('SubscriptionWithSecret'), 'The subscription with its new secret.'),
        '400': invalid,
        '404': notFound,
      }),
    },
    '/v1/subscriptions/{id}/verify': {
      parameters: [subscriptionId],
      post: op('Run the endpoint ownership check now', {
        '200': json(ref('Subscription'), 'The subscription after the check: `verifiedAt` on success, `verificationError` otherwise.'),
        '400': invalid,
        '404': notFound,
      }),
    },
    '/v1/subscriptions/{id}/test-filter': {
      parameters: [subscriptionId],
      post: op(
        'Would this payload pass the filter?',
        { '200': json(ref('TestFilterResult'), 'Whether it matches.'), '400': invalid, '404': notFound },
        { requestBody: body(ref('TestFilterRequest')) },
      ),
    },
    '/v1/subscriptions/{id}/replay': {
      parameters: [subscriptionId],
      post: op(
        'Send a window of retained messages again',
        {
          '200': json(ref('ReplayResult'), 'dryRun: what would be sent.'),
          '202': json(ref('ReplayResult'), 'The deliveries are due; the scheduler enqueues them.'),
          '400': { ...problemResponse(`Invalid, or more than ${MAX_REPLAY_MESSAGES} messages in the window (replay.too_many).`) },
          '404': notFound,
        },
        { requestBody: body(ref('ReplayRequest')) },
      ),
    },
    '/v1/subscriptions/{id}/deliveries': {
      parameters: [subscriptionId],
      get: op(
        'List a subscription\'s deliveries',
        { '200': json(ref('DeliveryList'), 'A page.'), '400': invalid, '404': notFound },
        {
          parameters: [
            { name: 'status', in: 'query', required: false, schema: ref('DeliveryStatus') },
            { name: 'limit', in: 'query', required: false, schema: int({ minimum: 1, maximum: 200 }) },
            { name: 'cursor', in: 'query', required: false, schema: str() },
          ],
        },
      ),
    },
    '/v1/subscriptions/{id}/messages': {
      parameters: [subscriptionId],
      get: op(
        'Poll: fetch messages',
        { '200': json(ref('PolledMessages'), 'Up to `max` messages, each with an ack id.'), '400': invalid, '404': notFound, '409': conflict, '503': unavailable },
        {
          parameters: [
            { name: 'max', in: 'query', required: false, schema: int({ minimum: 1 }) },
            { name: 'wait', in: 'query', required: false, description: 'Long-poll up to this many seconds.', schema: { type: 'number', minimum: 0 } },
          ],
        },
      ),
    },
    '/v1/subscriptions/{id}/ack': {
      parameters: [subscriptionId],
      post: op(
        'Poll: acknowledge handed-out messages',
        { '200': json(ref('SettleResults'), 'All settled.'), '400': invalid, '404': notFound, '409': conflict, '503': unavailable },
        { requestBody: body(ref('AckRequest')) },
      ),
    },
    '/v1/subscriptions/{id}/nack': {
      parameters: [subscriptionId],
      post: op(
        'Poll: hand messages back (after delayMs)',
        { '200': json(ref('SettleResults'), 'All settled.'), '400': invalid, '404': notFound, '409': conflict, '503': unavailable },
        { requestBody: body(ref('NackRequest')) },
      ),
    },
    '/v1/messages': {
      get: op(
        'Messages newest first, each with its delivery counts; or, with ids, one summary of those messages',
        {
          '200': json(
            { oneOf: [ref('MessagePage'), ref('MessageSummary')] },
            'A page (MessagePage), or with `ids` the summary (MessageSummary).',
          ),
          '400': invalid,
        },
        {
          parameters: [
            { name: 'topic', in: 'query', required: false, description: 'A topic or pattern (`orders.*`, `orders.>`).', schema: str({ pattern: TOPIC_PATTERN }) },
            { name: 'since', in: 'query', required: false, description: 'Published at or after.', schema: dateTime() },
            { name: 'until', in: 'query', required: false, description: 'Published before.', schema: dateTime() },
            { name: 'limit', in: 'query', required: false, schema: int({ minimum: 1, maximum: 200, default: 50 }) },
            { name: 'cursor', in: 'query', required: false, schema: str() },
            { name: 'ids', in: 'query', required: false, description: 'Comma-separated message ids (1–1000): answer with their summary.', schema: str() },
          ],
        },
      ),
    },
    '/v1/messages/summary': {
      post: op(
        'Are these messages settled? One summary of up to 1,000 messages',
        { '200': json(ref('MessageSummary'), 'The summary.'), '400': invalid },
        { requestBody: body(ref('MessageSummaryRequest')) },
      ),
    },
    '/v1/stats': {
      get: op('Tenant-wide figures over the subscriptions the caller sees', { '200': json(ref('TenantStats'), 'The figures.') }),
    },
    '/v1/subscriptions/{id}/stats': {
      parameters: [subscriptionId],
      get: op("A subscription's delivery counts, recent attempts, latency and breaker", {
        '200': json(ref('SubscriptionStats'), 'The figures.'),
        '404': notFound,
      }),
    },
    '/v1/messages/{id}': {
      get: op(
        'A message and the state of each of its deliveries',
        { '200': json(ref('Message'), 'The message.'), '404': notFound },
        { parameters: [pathParam('id', 'A message id (`msg_…`).')] },
      ),
    },
    '/v1/deliveries/{id}': {
      parameters: [deliveryIdParam],
      get: op('A delivery with every attempt', { '200': json(ref('Delivery'), 'The delivery.'), '404': notFound }),
    },
    '/v1/deliveries/{id}/retry': {
      parameters: [deliveryIdParam],
      post: op('Send a failed, dead or delivered delivery again now (one more attempt)', {
        '202': json(ref('DeliverySummary'), 'Pending: the next attempt continues the numbering.'),
        '400': invalid,
        '404': notFound,
        '409': conflict,
      }),
    },
    '/v1/portal/sessions': {
      post: op(
        'A short-lived, single-use link into the consumer portal for one subject (admin)',
        { '201': json(ref('PortalLink'), 'The link to hand to the customer.'), '400': invalid, '403': forbidden, '503': unavailable },
        { requestBody: body(ref('PortalSessionRequest')) },
      ),
    },
    '/v1/portal/exchange': {
      post: {
        summary: 'Spend a portal link\'s code for a session token (no bearer token: the code is the credential)',
        ...open,
        requestBody: body(ref('PortalExchange')),
        responses: {
          '200': json(ref('PortalSession'), 'The session.'),
          '400': invalid,
          '401': problemRef('Unauthorized'),
          '503': unavailable,
          '500': problemRef('Internal'),
        },
      },
    },
    '/v1/tenant/settings': {
      get: op('The caller\'s tenant settings', { '200': json(ref('TenantSettings'), 'Effective settings.') }),
      patch: op(
        'Change the caller\'s tenant settings (admin)',
        { '200': json(ref('TenantSettings'), 'Effective settings.'), '400': invalid, '403': forbidden },
        { requestBody: body(ref('TenantSettingsPatch')) },
      ),
    },
  };
}

/** The OpenAPI 3.1 document. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hookline',
      version: VERSION,
      description:
        'Webhook and pub/sub broker. Errors are application/problem+json. Authenticate with `Authorization: Bearer <JWT>`; ' +
        'scopes are `publish:<pattern>`, `subscribe:<pattern>` and `admin`.',
    },
    security: [{ bearer: [] }],
    paths: paths(),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: schemas(),
      responses: {
        BadRequest: problemResponse('The request is invalid; `errors` lists field-level problems.'),
        Unauthorized: problemResponse('No valid bearer token.'),
        Forbidden: problemResponse('The token\'s grants do not cover this.'),
        NotFound: problemResponse('No such resource for this principal.'),
        Conflict: problemResponse('The resource is not in a state that allows this.'),
        PayloadTooLarge: problemResponse('The body exceeds the limit.'),
        UnsupportedMediaType: problemResponse('Send application/json.'),
        TooManyRequests: problemResponse('`quota.exceeded`: the tenant holds its quota of open streams; close one or retry later.'),
        Unavailable: problemResponse('A dependency (NATS, Postgres) is unavailable; retry.'),
        Internal: problemResponse('Something went wrong on our side; the request id identifies it.'),
      },
    },
  };
}
