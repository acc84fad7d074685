import { secretKey, signatureHeader } from '../../../shared/signing.js';
import type { StoredMessage } from '../../../shared/nats/message-store.js';
import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { USER_AGENT } from '../../../shared/version.js';
import type { WebhookRequest } from './send.js';

export { USER_AGENT };

const keyCache = new Map<string, Buffer>();

function keyOf(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size > 10_000) keyCache.clear();
    key = secretKey(secret);
    keyCache.set(secret, key);
  }
  return key;
}

/** The keys that sign now: the current secret, and during a rotation the previous one until it expires. */
export function signingKeys(sub: SubscriptionRecord, now = Date.now()): Buffer[] {
  const keys = [keyOf(sub.secret as string)];
  if (sub.previousSecret && sub.previousSecretExpiresAt && sub.previousSecretExpiresAt.getTime() > now) {
    keys.push(keyOf(sub.previousSecret));
  }
  return keys;
}

/**
 * The Standard Webhooks request for one attempt. The body is assembled around the payload's JSON text as
 * published, so it is never parsed and re-serialised on the hot path.
 */
export function prepareWebhook(sub: SubscriptionRecord, msg: StoredMessage, attempt: number, nowMs = Date.now()) {
  const body = `{"id":${JSON.stringify(msg.id)},"topic":${JSON.stringify(msg.topic)},"publishedAt":${JSON.stringify(
    msg.publishedAt,
  )},"data":${msg.data}}`;
  const timestamp = Math.floor(nowMs / 1000);
  const request: WebhookRequest = {
    url: new URL(sub.url as string),
    timeoutMs: sub.timeoutMs,
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': msg.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(signingKeys(sub, nowMs), msg.id, timestamp, body),
      'hookline-topic': msg.topic,
      'hookline-attempt': String(attempt),
    },
  };
  return request;
}
