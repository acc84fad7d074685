import { describe, it, expect } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { DEFAULT_RETRY_POLICY } from '../../shared/backoff.js';
import type { SubscriptionRecord } from '../../shared/db/subscriptions.js';
import type { StoredMessage } from '../../shared/nats/message-store.js';
import { generateSecret, verifyWebhook } from '../../shared/signing.js';
import { prepareWebhook, signingKeys, USER_AGENT } from '../../services/dispatcher/deliver/prepare.js';

function subscription(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const at = new Date('2024-01-01T00:00:00Z');
  return {
    id: 'sub_01HK153X000000000000000000',
    tenant: 'acme',
    owner: 'alice',
    type: 'webhook',
    topic: 'orders.*',
    url: 'https://hooks.example.com/in?k=1',
    secret: generateSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    status: 'active',
    disabledReason: null,
    retry: { ...DEFAULT_RETRY_POLICY },
    timeoutMs: 7000,
    ordered: false,
    filter: null,
    description: null,
    options: {},
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    version: 1,
    ...overrides,
  };
}

// The payload text exactly as the publisher sent it: key order and spacing must survive untouched.
const DATA = '{"b": 1, "a": [true, null, "é\\u00e9"], "nested": {"x": 1.50}}';
const message: StoredMessage = {
  id: 'msg_01HK153X00ABCDEFGHJKMNPQRS',
  tenant: 'acme',
  topic: 'orders.created',
  publishedAt: '2024-01-01T00:00:01.234Z',
  streamSeq: 42,
  data: DATA,
};

describe('prepareWebhook', () => {
  it('when prepared, then every Standard Webhooks and Hookline header is present with its value', () => {
    const now = Date.now();
    const req = prepareWebhook(subscription(), message, 3, now);
    expect(req.headers).toEqual({
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(now / 1000)),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]{43}=$/),
      'hookline-topic': 'orders.created',
      'hookline-attempt': '3',
    });
    expect(USER_AGENT).toMatch(/^Hookline\/\d+\.\d+\.\d+/);
    expect(req.url.toString()).toBe('https://hooks.example.com/in?k=1');
    expect(req.timeoutMs).toBe(7000);
  });

  it('when prepared, then the body is exactly {id, topic, publishedAt, data} with data as published', () => {
    const req = prepareWebhook(subscription(), message, 1);
    expect(req.body).toBe(
      `{"id":"${message.id}","topic":"orders.created","publishedAt":"2024-01-01T00:00:01.234Z","data":${DATA}}`,
    );
    expect(Object.keys(JSON.parse(req.body))).toEqual(['id', 'topic', 'publishedAt', 'data']);
    expect(JSON.parse(req.body).data).toEqual(JSON.parse(DATA));
  });

  it('when the payload is a JSON scalar, then the body is still valid JSON', () => {
    const req = prepareWebhook(subscription(), { ...message, data: '"just text"' }, 1);
    expect(JSON.parse(req.body).data).toBe('just text');
  });

  it('when verified with the standardwebhooks library and the subscription secret, then the signature holds', () => {
    const sub = subscription();
    const req = prepareWebhook(sub, message, 1);
    const verified = new Webhook(sub.secret!).verify(req.body, req.headers);
    expect(verified).toEqual(JSON.parse(req.body));
  });

  it('when verified with another secret or a changed body, then the library rejects it', () => {
    const sub = subscription();
    const req = prepareWebhook(sub, message, 1);
    expect(() => new Webhook(generateSecret()).verify(req.body, req.headers)).toThrow();
    expect(() => new Webhook(sub.secret!).verify(req.body.replace('1.50', '1.5'), req.headers)).toThrow();
  });

  it('when a rotation is in progress, then two signatures are sent and each secret verifies on its own', () => {
    const current = generateSecret();
    const previous = generateSecret();
    const now = Date.now();
    const sub = subscription({
      secret: current,
      previousSecret: previous,
      previousSecretExpiresAt: new Date(now + 3600_000),
    });
    const req = prepareWebhook(sub, message, 1, now);
    const parts = req.headers['webhook-signature']!.split(' ');
    expect(parts).toHaveLength(2);
    for (const p of parts) expect(p).toMatch(/^v1,/);
    expect(() => new Webhook(current).verify(req.body, req.headers)).not.toThrow();
    expect(() => new Webhook(previous).verify(req.body, req.headers)).not.toThrow();
    expect(() => verifyWebhook(current, req.headers, req.body)).not.toThrow();
    expect(() => verifyWebhook(previous, req.headers, req.body)).not.toThrow();
    // The first signature is the current secret's: receivers that only read one still get the new key.
    const onlyFirst = { ...req.headers, 'webhook-signature': parts[0]! };
    expect(() => new Webhook(current).verify(req.body, onlyFirst)).not.toThrow();
  });

  it('when the previous secret has expired, then only the current secret signs', () => {
    const previous = generateSecret();
    const now = Date.now();
    const sub = subscription({ previousSecret: previous, previousSecretExpiresAt: new Date(now - 1) });
    const req = prepareWebhook(sub, message, 1, now);
    expect(req.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(() => new Webhook(previous).verify(req.body, req.headers)).toThrow();
    expect(signingKeys(sub, now)).toHaveLength(1);
  });
});
