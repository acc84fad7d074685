import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Poll ack ids: opaque to clients, minted by any api replica and accepted by any other.
 *
 *   v1.<base64url(subscriptionId \n tenant \n messageId \n expiresAtMs \n replySubject)>.<base64url(mac)>
 *   mac = HMAC-SHA256(key, "hookline-ack-v1\n" + payload part)
 *
 * The reply subject is JetStream's `$JS.ACK.…` subject of the delivery: acking is publishing to it. The
 * MAC binds it to one subscription and tenant, so a client can neither invent an ack id nor move one
 * to another subscription; `expiresAt` (hand-out time + the ack timeout) makes one that has outlived
 * its delivery stale.
 */
export interface AckToken {
  subscriptionId: string;
  tenant: string;
  messageId: string;
  /** Unix ms after which JetStream redelivers the message and this ack id is refused. */
  expiresAt: number;
  /** JetStream's ack subject for this delivery. */
  reply: string;
}

/** Why an ack id was refused. */
export type AckIdProblem = 'malformed' | 'forged' | 'wrong_subscription' | 'expired';

export type AckIdCheck = { ok: true; token: AckToken; delivery: AckReplyInfo } | { ok: false; problem: AckIdProblem };

/** What a JetStream ack subject says about its delivery. */
export interface AckReplyInfo {
  stream: string;
  consumer: string;
  /** How many times this message has been delivered, this delivery included: the `attempt`. */
  deliveryCount: number;
  streamSeq: number;
}

/** The `server_keys` row whose key authenticates ack ids. */
export const ACK_KEY_NAME = 'poll-ack-v1';
const VERSION = 'v1';
const CONTEXT = 'hookline-ack-v1\n';
/** Longest ack id accepted before any decoding: a bound on the work a hostile request can cause. */
export const MAX_ACK_ID_LENGTH = 1024;
const FIELD = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` and its newer form with a
 * domain and account hash after `ACK` (`$JS.ACK.<domain>.<hash>.<stream>.…`).
 */
export function parseAckReply(reply: string): AckReplyInfo | undefined {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  if (t.length === 9) t.splice(2, 0, '_', '');
  if (t.length < 11) return undefined;
  const deliveryCount = Number(t[6]);
  const streamSeq = Number(t[7]);
  if (!t[4] || !t[5] || !Number.isSafeInteger(deliveryCount) || deliveryCount < 1) return undefined;
  if (!Number.isSafeInteger(streamSeq) || streamSeq < 1) return undefined;
  return { stream: t[4], consumer: t[5], deliveryCount, streamSeq };
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(payload).digest();
}

export function encodeAckId(key: Buffer, t: AckToken): string {
  const payload = Buffer.from(
    [t.subscriptionId, t.tenant, t.messageId, String(t.expiresAt), t.reply].join('\n'),
    'utf8',
  ).toString('base64url');
  return `${VERSION}.${payload}.${mac(key, payload).toString('base64url')}`;
}

/**
 * Checks an ack id against the subscription (and its tenant and JetStream names) it was presented to.
 * Never throws: every failure is an {@link AckIdProblem}.
 */
export function verifyAckId(
  key: Buffer,
  ackId: unknown,
  expected: { subscriptionId: string; tenant: string; stream: string; consumer: string; now: number },
): AckIdCheck {
  if (typeof ackId !== 'string' || ackId.length > MAX_ACK_ID_LENGTH) return { ok: false, problem: 'malformed' };
  const parts = ackId.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) return { ok: false, problem: 'malformed' };
  const [, payload, sig] = parts as [string, string, string];
  // Compared as text: a non-canonical spelling of the same MAC bytes is not ours either.
  const given = Buffer.from(sig, 'utf8');
  const wanted = Buffer.from(mac(key, payload).toString('base64url'), 'utf8');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { ok: false, problem: 'forged' };
  // Authentic from here on: we minted it, so a shape problem would be our own bug; still checked.
  const fields = Buffer.from(payload, 'base64url').toString('utf8').split('\n');
  if (fields.length !== 5) return { ok: false, problem: 'malformed' };
  const [subscriptionId, tenant, messageId, expires, reply] = fields as [string, string, string, string, string];
  const expiresAt = Number(expires);
  const delivery = parseAckReply(reply);
  if (!FIELD.test(subscriptionId) || !FIELD.test(tenant) || !FIELD.test(messageId) || !delivery || !Number.isSafeInteger(expiresAt)) {
    return { ok: false, problem: 'malformed' };
  }
  if (
    subscriptionId !== expected.subscriptionId ||
    tenant !== expected.tenant ||
    delivery.stream !== expected.stream ||
    delivery.consumer !== expected.consumer
  ) {
    return { ok: false, problem: 'wrong_subscription' };
  }
  if (expected.now > expiresAt) return { ok: false, problem: 'expired' };
  return { ok: true, token: { subscriptionId, tenant, messageId, expiresAt, reply }, delivery };
}
