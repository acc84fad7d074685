import type { JsMsg, MsgHdrs } from 'nats';
import { headers as natsHeaders } from 'nats';
import type { Names } from '../../shared/nats/subjects.js';
import { HEADERS } from '../../shared/nats/subjects.js';
import { closeSpan, extractNats, injectNats, inSpan, openSpan, tracingEnabled, type SpanStart } from '../../shared/tracing/spans.js';
import type { Context, Span } from '@opentelemetry/api';

/**
 * The spans of one routed batch. Each message gets a consumer span `process <MESSAGES stream>` in the
 * trace its publish started (from its NATS headers); the batch-wide steps (match, record) appear once
 * under each message's span with the batch's timing, and each delivery job is a producer span under it
 * whose context travels in the job's headers to the dispatcher.
 */
export class RoutingTrace {
  private readonly byId = new Map<string, { span: Span; ctx: Context }>();

  private constructor(batch: JsMsg[], names: Names) {
    for (const m of batch) {
      const id = m.headers?.get(HEADERS.messageId);
      const parent = extractNats(m.headers);
      if (!id || !parent) continue;
      const opened = openSpan('router', `process ${names.messagesStream}`, {
        kind: 'consumer',
        parent,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.destination.name': m.subject,
          'messaging.consumer.group.name': names.routerConsumer,
          'messaging.message.id': id,
          'messaging.batch.message_count': batch.length,
        },
      });
      if (opened) this.byId.set(id, opened);
    }
  }

  /** The batch's trace, or undefined when tracing is off (then nothing below is called). */
  static of(batch: JsMsg[], names: Names): RoutingTrace | undefined {
    return tracingEnabled() ? new RoutingTrace(batch, names) : undefined;
  }

  /** Records a batch-wide step as a child span of every traced message in the batch. */
  step<T>(name: string, fn: () => T): T {
    const startTime = Date.now();
    const result = fn();
    if (result instanceof Promise) {
      return result.then((v: unknown) => {
        this.mark(name, startTime);
        return v;
      }) as T;
    }
    this.mark(name, startTime);
    return result;
  }

  private mark(name: string, startTime: number): void {
    for (const { ctx } of this.byId.values()) {
      openSpan('router', name, { parent: ctx, startTime, attributes: { 'messaging.batch.message_count': this.byId.size } })?.span.end();
    }
  }

  /** Sends a delivery job inside a producer span of its message's trace, its context in the job's headers. */
  sendJob<T>(messageId: string, subject: string, send: (headers: MsgHdrs | undefined) => Promise<T>): Promise<T> {
    const traced = this.byId.get(messageId);
    if (!traced) return send(undefined);
    const s: SpanStart = {
      kind: 'producer',
      parent: traced.ctx,
      attributes: { 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.destination.name': subject },
    };
    return inSpan('router', 'send delivery job', s, () => {
      const h = natsHeaders();
      injectNats(h);
      return send(h);
    });
  }

  /** Ends every message's span; a failed batch is routed again, so its spans say so. */
  end(err?: unknown): void {
    for (const { span } of this.byId.values()) closeSpan(span, err);
  }
}
