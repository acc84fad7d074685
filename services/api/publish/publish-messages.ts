import { createHash } from 'node:crypto';
import { headers as natsHeaders, type JetStreamClient, type PubAck } from 'nats';
import { ConflictError, UnavailableError } from '../../../shared/errors.js';
import { newId } from '../../../shared/ids.js';
import type { MessageHead } from '../../../shared/message.js';
import type { MessageStore } from '../../../shared/nats/message-store.js';
import { HEADERS, type Names } from '../../../shared/nats/subjects.js';
import { injectNats, inSpan } from '../../../shared/tracing/spans.js';

export interface PublishDeps {
  js: JetStreamClient;
  names: Names;
  messages: MessageStore;
}

/** The answer to a publish: the message's id, and whether it was an earlier publish replayed. */
export interface Published extends MessageHead {
  duplicate: boolean;
}

/** A publish's Idempotency-Key and the kind of request it came with (a single message or a batch). */
export interface Idempotency {
  key: string;
  kind: 'message' | 'batch';
}

const encoder = new TextEncoder();

function sendAttributes(subject: string, id: string) {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'publish',
    'messaging.destination.name': subject,
    'messaging.message.id': id,
  };
}

/**
 * The JetStream message id of payload `i` of a keyed request. Tenants and topics hold no ':' and `i` is
 * digits, so the key (which may hold ':') is the unambiguous rest: no key of one request can produce
 * another request's ids, whatever the kinds or lengths.
 */
export function idempotentMsgId(tenant: string, topic: string, key: string, i: number): string {
  return `idem:${i}:${tenant}:${topic}:${key}`;
}

/** A hash of the whole request: its kind, how many payloads, and each payload's exact text. */
export function requestHash(kind: Idempotency['kind'], payloads: string[]): string {
  const h = createHash('sha256').update(`${kind}\n${payloads.length}\n`);
  for (const p of payloads) h.update(`${Buffer.byteLength(p)}\n`).update(p);
  return h.digest('base64url');
}

/**
 * Stores messages in the MESSAGES stream (file storage) and resolves once JetStream has acknowledged
 * them: that acknowledgement is what "202 Accepted" means. Batches are pipelined: every publish is in
 * flight before the first acknowledgement is awaited.
 *
 * With an idempotency key, each payload's JetStream message id is derived from the key and its position,
 * so JetStream's duplicate window (HOOKLINE_IDEMPOTENCY_WINDOW_S, shared by every api replica) drops a
 * repeat. The first message carries a hash of the whole request and is published alone first: when it
 * comes back a duplicate, the stored original's hash decides between a replay (same request: the
 * original ids) and a reuse of the key for another request (409, and nothing of it is published).
 */
export async function publishMessages(
  deps: PublishDeps,
  tenant: string,
  topic: string,
  payloads: string[],
  idempotency?: Idempotency,
): Promise<Published[]> {
  const subject = deps.names.messageSubject(tenant, topic);
  const hash = idempotency && requestHash(idempotency.kind, payloads);

  const publishOne = async (data: string, i: number): Promise<Published & { original?: { requestHash?: string } }> => {
    const id = newId('msg');
    const publishedAt = new Date().toISOString();
    const h = natsHeaders();
    h.set(HEADERS.messageId, id);
    h.set(HEADERS.publishedAt, publishedAt);
    if (hash && i === 0) h.set(HEADERS.requestHash, hash);
    const msgID = idempotency ? idempotentMsgId(tenant, topic, idempotency.key, i) : id;
    let ack: PubAck;
    try {
      ack = await inSpan('api', `send ${deps.names.messagesStream}`, { kind: 'producer', attributes: sendAttributes(subject, id) }, () => {
        // The router and dispatcher continue this trace from the message's headers.
        injectNats(h);
        return deps.js.publish(subject, encoder.encode(data), { msgID, headers: h });
      });
    } catch (err) {
      throw new UnavailableError(
        'publish.unavailable',
        'The message store did not confirm the message, so it may or may not be stored. ' +
          'Retry with the same Idempotency-Key to be sure it is stored once.',
        { cause: err },
      );
    }
    if (!ack.duplicate) return { id, topic, publishedAt, duplicate: false };
    // JetStream answers a duplicate with the original's sequence: read its id back. The read can fail
    // (a stream leader election between the two calls): the key makes a retry safe, so say so.
    const original = await deps.messages.get(ack.seq).catch((err: unknown) => {
      throw new UnavailableError(
        'publish.unavailable',
        'The message is stored, but the message store did not answer which message it is. Retry with the same Idempotency-Key.',
        { cause: err },
      );
    });
    if (!original) {
      throw new ConflictError(
        'idempotency.original_gone',
        'This Idempotency-Key was used within the idempotency window, but the message it stored has left the ' +
          'stream, so this request cannot be compared with it. Use a new key.',
      );
    }
    return { id: original.id, topic, publishedAt: original.publishedAt, duplicate: true, original };
  };

  if (!idempotency) return Promise.all(payloads.map(publishOne));
  const first = await publishOne(payloads[0]!, 0);
  if (first.duplicate && first.original?.requestHash !== hash) {
    throw new ConflictError(
      'idempotency.key_reused',
      'This Idempotency-Key was already used for a different request to this topic within the idempotency ' +
        'window; a repeat must send the same body. Use a new key for a new request.',
    );
  }
  const rest = await Promise.all(payloads.slice(1).map((p, i) => publishOne(p, i + 1)));
  return [first, ...rest].map(({ id, publishedAt, duplicate }) => ({ id, topic, publishedAt, duplicate }));
}
