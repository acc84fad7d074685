import { createInbox, nanos, type Msg, type NatsConnection } from 'nats';

/** One JetStream pull request (`CONSUMER.MSG.NEXT`), as nats-server 2.9 understands it. */
export interface PullRequest {
  batch: number;
  /** Stop before the answer exceeds this many bytes (message, subject and headers). */
  maxBytes?: number;
  /** Answer at once with what is available (404 when nothing is). */
  noWait?: boolean;
  /** Wait up to this long for the batch to fill (408 when it runs out). */
  expiresMs?: number;
}

/** A message as a pull received it. */
export interface Pulled {
  msg: Msg;
  /** When it arrived: its ack wait started (a network hop) before this. */
  receivedAt: number;
}

/** How a pull ended. */
export interface PullResult {
  messages: Pulled[];
  /** The terminating status (404 no messages, 408 expired, 409 e.g. consumer deleted), if one came. */
  status?: { code: number; description: string };
  /** No answer within the client-side timeout: the consumer may not exist. */
  unanswered?: boolean;
  aborted?: boolean;
}

const NAK = new TextEncoder().encode('-NAK');

/**
 * Sends one pull request to `subject` and collects its messages until the batch is full or the server
 * ends the request with a status. The nats.js pull helpers stop listening on a client timer that races
 * the server's expiry (a message sent at that moment sits unacked until its ack wait runs out); here
 * the server's status ends the request, and a message that still arrives after an abort or timeout is
 * handed straight back with a NAK.
 */
export function pull(
  nc: NatsConnection,
  subject: string,
  req: PullRequest,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<PullResult> {
  return new Promise((resolve) => {
    const messages: Pulled[] = [];
    let done = false;
    const inbox = createInbox();
    const finish = (extra: Omit<PullResult, 'messages'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // drain, not unsubscribe: messages the server sent before it saw the UNSUB still reach the callback.
      sub.drain().catch(() => {});
      resolve({ messages, ...extra });
    };
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        const code = m?.headers?.code ?? 0;
        if (done) {
          if (!err && m.reply && code === 0) m.respond(NAK);
          return;
        }
        if (err) return finish({ unanswered: true });
        if (code >= 100 && m.data.length === 0) {
          if (code === 100) return; // idle heartbeat
          return finish({ status: { code, description: m.headers?.description ?? '' } });
        }
        messages.push({ msg: m, receivedAt: Date.now() });
        if (messages.length >= req.batch) finish({});
      },
    });
    const timer = setTimeout(() => finish({ unanswered: true }), opts.timeoutMs);
    const onAbort = () => finish({ aborted: true });
    if (opts.signal?.aborted) return finish({ aborted: true });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const body: Record<string, unknown> = { batch: req.batch };
    if (req.maxBytes) body.max_bytes = req.maxBytes;
    if (req.noWait) body.no_wait = true;
    else if (req.expiresMs) body.expires = nanos(req.expiresMs);
    nc.publish(subject, JSON.stringify(body), { reply: inbox });
  });
}
