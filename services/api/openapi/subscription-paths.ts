import { MAX_REPLAY_MESSAGES } from '../deliveries/replay-subscription.js';
import { body, int, json, op, pathParam, problemRef, problemResponse, problems, ref, str } from './builders.js';

const subscriptionId = pathParam('id', 'A subscription id (`sub_…`).');
const deliveryIdParam = pathParam('id', 'A delivery id (`dlv_…`).');

/** Paths of the document: subscriptions, their deliveries, polling, the portal and tenant settings. */
export function subscriptionPaths(): Record<string, unknown> {
  const { notFound, invalid, forbidden, conflict, unavailable } = problems;
  const open = { security: [] };
  return {
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

