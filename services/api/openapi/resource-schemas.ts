import { ackSchema, attemptReportsSchema, nackSchema } from '../routes/poll.js';
import { exchangeSchema, portalSessionSchema } from '../routes/portal.js';
import { replaySchema } from '../routes/replay.js';
import { summarySchema } from '../routes/messages.js';
import { testSchema } from '../routes/filters.js';
import { settingsSchema } from '../routes/verification.js';
import { MAX_REPLAY_MESSAGES } from '../deliveries/replay-subscription.js';
import { arr, bool, dateTime, fromZod, ID, int, obj, ref, str, type Schema } from './builders.js';

/**
 * Components of the document: deliveries, messages, stats, poll, replay, portal and tenant settings.
 * Request bodies come from the routes' zod schemas; responses are written here, closed
 * (`additionalProperties: false`) so a field added to a view without being documented fails the test.
 */
export function resourceSchemas(): Record<string, Schema> {
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
    MessageSummaryRequest: fromZod(summarySchema),
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
    AckRequest: fromZod(ackSchema),
    NackRequest: fromZod(nackSchema),
    AttemptReports: fromZod(attemptReportsSchema),
    SettleResults: obj(
      { results: arr(obj({ ackId: str(), messageId: str(), status: { enum: ['acked', 'nacked'] } }, ['ackId', 'messageId', 'status'])) },
      ['results'],
    ),
    // The route checks presence itself: `"payload": null` is a payload, an absent one is refused.
    TestFilterRequest: fromZod(testSchema, { required: ['payload'] }),
    TestFilterResult: obj({ matches: bool() }, ['matches']),
    ReplayRequest: fromZod(replaySchema),
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
    PortalSessionRequest: fromZod(portalSessionSchema),
    PortalLink: obj(
      {
        url: str({ description: 'Single-use link into /portal; the code is in the fragment, so no server logs it.' }),
        expiresAt: str({ format: 'date-time' }),
      },
      ['url', 'expiresAt'],
    ),
    PortalExchange: fromZod(exchangeSchema),
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
    TenantSettingsPatch: fromZod(settingsSchema),
  };
}
