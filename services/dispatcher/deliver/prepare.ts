import { signatureHeader } from '../../../shared/signing.js';
import { signingKeys } from '../../../shared/signing-keys.js';
import { envelopeJson, type MessageWithPayload } from '../../../shared/message.js';
import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { USER_AGENT } from '../../../shared/version.js';
import type { WebhookRequest } from './send.js';

export { USER_AGENT, signingKeys };

/** The Standard Webhooks request for one attempt: the envelope (shared/message.ts), signed and addressed. */
export function prepareWebhook(sub: SubscriptionRecord, msg: MessageWithPayload, attempt: number, nowMs = Date.now()) {
  const body = envelopeJson(msg);
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
