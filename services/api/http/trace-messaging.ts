import type { Context } from '@opentelemetry/api';
import { inSpan, openSpan, tracingEnabled } from '../../../shared/tracing/spans.js';

/**
 * Spans for the api's messaging work beyond publish: a poll fetch or settle (inside the request's server
 * span), and each message a live stream sends (in the trace the message was published in). The plain
 * call when tracing is off.
 */
export function tracePoll<T>(
  operation: 'receive' | 'ack' | 'nack',
  stream: string,
  consumer: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return fn();
  const s = {
    kind: 'consumer' as const,
    attributes: {
      'messaging.system': 'nats',
      'messaging.operation.type': operation === 'receive' ? 'receive' : 'settle',
      'messaging.operation.name': operation,
      'messaging.destination.name': stream,
      'messaging.consumer.group.name': consumer,
    },
  };
  return inSpan('api', `${operation} ${stream}`, s, async (span) => {
    const result = await fn();
    if (span && Array.isArray(result)) span.setAttribute('messaging.batch.message_count', result.length);
    return result;
  });
}

/** Records that a live stream sent a message: a producer span in the message's own trace. */
export function traceStreamSend(trace: Context | undefined, transport: 'sse' | 'websocket', pattern: string, messageId: string): void {
  if (!trace) return;
  openSpan('api', `send ${transport}`, {
    kind: 'producer',
    parent: trace,
    attributes: {
      'messaging.system': 'hookline',
      'messaging.operation.type': 'send',
      'messaging.destination.name': pattern,
      'messaging.message.id': messageId,
      'network.protocol.name': transport,
    },
  })?.span.end();
}
