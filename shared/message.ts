/**
 * A published message as each boundary sees it. Every view builds on {@link MessageHead}; the position of a
 * message in the MESSAGES stream is always called `streamSeq` in code (the wire keeps its own short names:
 * `seq` in WebSocket frames, `id:` in SSE, `q` in a delivery job).
 *
 * | boundary                       | type                                                    |
 * |--------------------------------|---------------------------------------------------------|
 * | read back from JetStream       | `StoredMessage` (shared/nats/message-store.ts)          |
 * | a Postgres `messages` row      | `MessageRecord` (shared/db/messages.ts)                 |
 * | a live feed (SSE, WebSocket)   | `FeedMessage` (services/api/stream/live-feed.ts)        |
 * | a poll answer                  | `PolledMessage` (services/api/poll/fetch-messages.ts)   |
 * | a publish answer               | `Published` (services/api/publish/publish-messages.ts)  |
 * | carried in a delivery job      | shared/delivery-job.ts                                  |
 */

/** What names a message on every boundary: its id, topic and publish time (ISO 8601). */
export interface MessageHead {
  id: string;
  topic: string;
  publishedAt: string;
}

/** A message with its payload as JSON text, spliced into answers, never parsed and re-serialised. */
export interface MessageWithPayload extends MessageHead {
  /** The payload's JSON text. */
  data: string;
}

/**
 * The webhook envelope, `{"id","topic","publishedAt","data"}`: the body of a webhook and the message part
 * of an SSE event and a WebSocket `message` frame. Assembled around the payload's JSON text, so the
 * payload is never parsed and re-serialised on the hot path.
 */
export function envelopeJson(m: MessageWithPayload): string {
  return `{"id":${JSON.stringify(m.id)},"topic":${JSON.stringify(m.topic)},"publishedAt":${JSON.stringify(m.publishedAt)},"data":${m.data}}`;
}

/** The envelope with members before it, e.g. a WebSocket frame's `type`, `pattern` and `seq`. */
export function envelopeJsonAfter(lead: Record<string, unknown>, m: MessageWithPayload): string {
  const head = JSON.stringify(lead);
  return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}${envelopeJson(m).slice(1)}`;
}
