import type { JsMsg } from 'nats';
import type { DeliveryJob } from '../../shared/delivery-job.js';
import type { StoredMessage } from '../../shared/nats/message-store.js';
import type { Names } from '../../shared/nats/subjects.js';
import { extractNats, injectHttp, inSpan, inSpanSync, linkTo, markError, tracingEnabled, type SpanStart } from '../../shared/tracing/spans.js';
import type { SendResult, WebhookRequest } from './deliver/send.js';

/**
 * The dispatcher's spans. A job the router enqueued continues the publish's trace from its NATS headers; a
 * job without them (a retry, or a delivery released after parking, enqueued from Postgres) starts a new
 * trace linked to the publish, whose context the stored message keeps. Each helper is the plain call when
 * tracing is off.
 */

/**
 * Runs the handling of one job inside its consumer span. For a job without trace context the message is
 * read first (from the store's cache when the attempt reads it again), so the link is there when the
 * sampler decides: a retry is traced when its publish was.
 */
export async function traceJob<T>(
  m: JsMsg,
  job: DeliveryJob,
  names: Names,
  message: () => Promise<StoredMessage | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return fn();
  const parent = extractNats(m.headers);
  let link;
  if (!parent) {
    const stored = await message().catch(() => undefined);
    link = stored && stored.id === job.messageId ? linkTo(stored.traceparent, stored.tracestate) : undefined;
  }
  return inSpan(
    'dispatcher',
    `process ${names.deliveriesStream}`,
    {
      kind: 'consumer',
      parent,
      links: link && [link],
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.destination.name': m.subject,
        'messaging.consumer.group.name': names.dispatcherConsumer,
        'messaging.message.id': job.messageId,
        'hookline.delivery.id': job.deliveryId,
        'hookline.subscription.id': job.subscriptionId,
        'hookline.delivery.attempt': job.attempt,
      },
    },
    fn,
  );
}

const NO_ATTRIBUTES: SpanStart = {};

/** A step of the attempt (load, record) as a child span. */
export function traceStep<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return tracingEnabled() ? inSpan('dispatcher', name, NO_ATTRIBUTES, fn) : fn();
}

/** A synchronous step (signing) as a child span. */
export function traceStepSync<T>(name: string, fn: () => T): T {
  return tracingEnabled() ? inSpanSync('dispatcher', name, NO_ATTRIBUTES, fn) : fn();
}

/**
 * The webhook request as an HTTP client span (semantic conventions for HTTP clients). The request carries
 * the span's `traceparent`, so the receiver's own tracing continues the trace; it is added after signing
 * (Standard Webhooks signs the id, timestamp and body, never headers). url.full leaves out the query and
 * any credentials in the URL, which subscription URLs may carry as tokens.
 */
export function traceSend(req: WebhookRequest, attempt: number, send: () => Promise<SendResult>): Promise<SendResult> {
  if (!tracingEnabled()) return send();
  const { url } = req;
  const s: SpanStart = {
    kind: 'client',
    attributes: {
      'http.request.method': 'POST',
      'url.full': `${url.protocol}//${url.host}${url.pathname}`,
      'server.address': url.hostname,
      'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      'hookline.delivery.attempt': attempt,
    },
  };
  return inSpan('dispatcher', 'POST', s, async (span) => {
    injectHttp(req.headers);
    const result = await send();
    if (span) {
      if (result.statusCode !== null) span.setAttribute('http.response.status_code', result.statusCode);
      if (result.error !== null || (result.statusCode ?? 0) >= 400) {
        span.setAttribute('error.type', result.statusCode !== null ? String(result.statusCode) : (result.error ?? '').split(':')[0]!);
        markError(span, result.error ?? `HTTP ${result.statusCode}`);
      }
    }
    return result;
  });
}
