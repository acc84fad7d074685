import { request, type Dispatcher } from 'undici';

/** At most this much of a receiver's response is read; the rest is dropped with the connection. */
export const RESPONSE_READ_CAP = 4096;
/** How much of the response is kept on the attempt record. */
export const RESPONSE_EXCERPT_CHARS = 1024;

export interface WebhookRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** What happened on the wire, before any decision about retrying. */
export interface SendResult {
  startedAt: Date;
  durationMs: number;
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

/** POSTs one webhook; never throws: network errors and timeouts come back as `error`. */
export async function sendWebhook(dispatcher: Dispatcher, req: WebhookRequest): Promise<SendResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), req.timeoutMs);
  try {
    const res = await request(req.url, {
      method: 'POST',
      dispatcher,
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
      startedAt,
      durationMs: performance.now() - t0,
      statusCode: res.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      responseExcerpt: excerpt ? excerpt.slice(0, RESPONSE_EXCERPT_CHARS) : null,
      error: null,
    };
  } catch (err) {
    return {
      startedAt,
      durationMs: performance.now() - t0,
      statusCode: null,
      retryAfter: undefined,
      responseExcerpt: null,
      error: describe(err, ac.signal.aborted).slice(0, 500),
    };
  } finally {
    clearTimeout(timer);
  }
}
