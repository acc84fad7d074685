import { DecoratorHandler, request, type Dispatcher } from 'undici';

/** At most this much of a receiver's response is read; the rest is dropped with the connection. */
export const RESPONSE_READ_CAP = 4096;
/** How much of the response is kept on the attempt record. */
export const RESPONSE_EXCERPT_CHARS = 1024;

export interface WebhookRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** How long the exchange with the endpoint may take, from the moment the request has a connection. */
  timeoutMs: number;
}

/** What happened on the wire, before any decision about retrying. */
export interface SendResult {
  /** When the request went out on a connection (when the attempt began, if it never got that far). */
  startedAt: Date;
  /** The exchange with the endpoint: from the request going out on a connection to the response read. */
  durationMs: number;
  /** Time spent before that: waiting for a pooled connection and opening one. */
  waitedMs: number;
  statusCode: number | null;
  retryAfter: string | undefined;
  responseExcerpt: string | null;
  error: string | null;
}

function describe(err: unknown, timedOut: boolean): string {
  if (timedOut) return 'timeout';
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}

/** Calls `onConnected` when undici writes the request to a connected socket (its handler's onConnect). */
function noticingConnection(dispatcher: Dispatcher, onConnected: () => void): Dispatcher {
  // DecoratorHandler forwards every callback; its typings declare none of them.
  const forwardConnect = (DecoratorHandler.prototype as Dispatcher.DispatchHandlers).onConnect!;
  class Noticing extends DecoratorHandler {
    onConnect(abort: (err?: Error) => void): void {
      onConnected();
      return forwardConnect.call(this, abort);
    }
  }
  return dispatcher.compose((dispatch) => (opts, handler) => dispatch(opts, new Noticing(handler)));
}

/**
 * POSTs one webhook; never throws: network errors and timeouts come back as `error`. The timeout runs
 * from the moment the request has a connection: time spent queued behind this process's own pool is not
 * the endpoint's (opening a connection has the agent's own connect timeout).
 */
export async function sendWebhook(dispatcher: Dispatcher, req: WebhookRequest): Promise<SendResult> {
  const attemptAt = Date.now();
  const t0 = performance.now();
  let exchangeT0: number | undefined;
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onConnected = () => {
    if (exchangeT0 !== undefined) return;
    exchangeT0 = performance.now();
    timer = setTimeout(() => ac.abort(), req.timeoutMs);
  };
  const timing = () => {
    const end = performance.now();
    const begin = exchangeT0 ?? t0;
    return {
      startedAt: new Date(attemptAt + (begin - t0)),
      durationMs: end - begin,
      waitedMs: begin - t0,
    };
  };
  try {
    const res = await request(req.url, {
      method: 'POST',
      dispatcher: noticingConnection(dispatcher, onConnected),
      headers: req.headers,
      body: req.body,
      signal: ac.signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    let excerpt = '';
    let read = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      if (read < RESPONSE_READ_CAP) excerpt += buf.subarray(0, RESPONSE_READ_CAP - read).toString('utf8');
      read += buf.length;
      // Leaving the loop destroys the body: a receiver cannot make us read megabytes.
      if (read >= RESPONSE_READ_CAP) break;
    }
    const retryAfter = res.headers['retry-after'];
    return {
      ...timing(),
      statusCode: res.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      responseExcerpt: excerpt ? excerpt.slice(0, RESPONSE_EXCERPT_CHARS) : null,
      error: null,
    };
  } catch (err) {
    return {
      ...timing(),
      statusCode: null,
      retryAfter: undefined,
      responseExcerpt: null,
      error: describe(err, ac.signal.aborted).slice(0, 500),
    };
  } finally {
    clearTimeout(timer);
  }
}
