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
  // undici asserts what its parser cannot check (a status code below 100, say): the assertion's own text
  // ("assert(statusCode >= 100)") tells an endpoint's owner nothing.
  if (code === 'ERR_ASSERTION') return 'invalid response: not valid HTTP/1.1 (a status code outside 100–599, or broken framing)';
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}

/** One exchange's clock: when the request got its connection, and the timer that ends it. */
class ExchangeClock {
  readonly t0 = performance.now();
  readonly attemptAt = Date.now();
  connectedAt: number | undefined;
  timedOut = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** Starts the exchange's timeout; undici's `abort` ends the request wherever it is (headers or body). */
  connected(abort: (err?: Error) => void): void {
    if (this.connectedAt !== undefined) return;
    this.connectedAt = performance.now();
    this.timer = setTimeout(() => {
      this.timedOut = true;
      abort(new Error('timeout'));
    }, this.timeoutMs);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  timing(): Pick<SendResult, 'startedAt' | 'durationMs' | 'waitedMs'> {
    const end = performance.now();
    const begin = this.connectedAt ?? this.t0;
    return { startedAt: new Date(this.attemptAt + (begin - this.t0)), durationMs: end - begin, waitedMs: begin - this.t0 };
  }
}

/** The dispatch option that carries a request's clock to the handler below. */
const CLOCK = Symbol('hookline.exchangeClock');
type ClockedOptions = Dispatcher.DispatchOptions & { [CLOCK]?: ExchangeClock };

// DecoratorHandler forwards every callback; its typings declare none of them.
const forwardConnect = (DecoratorHandler.prototype as Dispatcher.DispatchHandlers).onConnect!;

/** Tells the request's clock when undici writes the request to a connected socket (the handler's onConnect). */
class NoticingConnection extends DecoratorHandler {
  constructor(
    handler: Dispatcher.DispatchHandlers,
    private readonly clock: ExchangeClock,
  ) {
    super(handler);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.clock.connected(abort);
    return forwardConnect.call(this, abort);
  }
}

/**
 * The agent with the connection notice composed in, built once per agent: composing (and a handler class)
 * per request showed in figure A's profile, and a class made per call never gets optimised.
 */
const noticing = new WeakMap<Dispatcher, Dispatcher>();
function noticingConnection(dispatcher: Dispatcher): Dispatcher {
  let composed = noticing.get(dispatcher);
  if (!composed) {
    composed = dispatcher.compose((dispatch) => (opts, handler) => {
      const clock = (opts as ClockedOptions)[CLOCK];
      return dispatch(opts, clock ? new NoticingConnection(handler, clock) : handler);
    });
    noticing.set(dispatcher, composed);
  }
  return composed;
}

/**
 * POSTs one webhook; never throws: network errors and timeouts come back as `error`. The timeout runs
 * from the moment the request has a connection: time spent queued behind this process's own pool is not
 * the endpoint's (opening a connection has the agent's own connect timeout).
 */
export async function sendWebhook(dispatcher: Dispatcher, req: WebhookRequest): Promise<SendResult> {
  const clock = new ExchangeClock(req.timeoutMs);
  try {
    const res = await request(req.url, {
      method: 'POST',
      dispatcher: noticingConnection(dispatcher),
      headers: req.headers,
      body: req.body,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      // Read by the composed interceptor above; undici passes unknown dispatch options through.
      [CLOCK]: clock,
    } as Parameters<typeof request>[1]);
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
      ...clock.timing(),
      statusCode: res.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      responseExcerpt: excerpt ? excerpt.slice(0, RESPONSE_EXCERPT_CHARS) : null,
      error: null,
    };
  } catch (err) {
    return {
      ...clock.timing(),
      statusCode: null,
      retryAfter: undefined,
      responseExcerpt: null,
      error: describe(err, clock.timedOut).slice(0, 500),
    };
  } finally {
    clock.stop();
  }
}
