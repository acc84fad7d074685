import { Router, type Request } from 'express';
import type { JetStreamClient } from 'nats';
import { canSubscribe } from '../../../shared/auth/principal.js';
import { ForbiddenError, UnavailableError, ValidationError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { envelopeJson } from '../../../shared/message.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { assertPattern } from '../../../shared/topics.js';
import { principalOf } from '../middleware/auth.js';
import { openLiveFeed, type FeedStart, type LiveFeed } from '../stream/live-feed.js';
import { drained, feedBufferBytes, goodbyeGraceMs, type LiveConnection, type LiveStreams } from '../stream/live-streams.js';
import type { StreamQuota } from '../stream/stream-quota.js';
import { traceStreamSend } from '../http/trace-messaging.js';
import { requestLogger } from '../middleware/request-id.js';

export interface StreamRoutesDeps {
  js: JetStreamClient;
  names: Names;
  logger: Logger;
  live: LiveStreams;
  maxPayloadBytes: number;
  /** Per-tenant count of open streams across api replicas; without it only this process's cap applies. */
  streamQuota?: StreamQuota;
}

const SEQ = /^\d{1,15}$/;

/** `Last-Event-ID` (what a reconnecting EventSource sends) or `?from=`: resume after that sequence. */
export function resumePosition(lastEventId: unknown, from: unknown): FeedStart {
  const value = lastEventId ?? from;
  if (value === undefined || value === '') return 'new';
  if (typeof value !== 'string' || !SEQ.test(value)) {
    throw new ValidationError(
      'stream.invalid_position',
      `${lastEventId !== undefined ? 'Last-Event-ID' : 'from'} must be a stream sequence (the id of an event received earlier).`,
    );
  }
  return { after: Number(value) };
}

/** How SSE events are named: `message` (the default, so EventSource.onmessage sees every topic) or by topic. */
export type EventNaming = 'message' | 'topic';

export function eventNaming(value: unknown): EventNaming {
  if (value === undefined || value === 'message') return 'message';
  if (value === 'topic') return 'topic';
  throw new ValidationError('stream.invalid_events', 'events must be "message" (the default) or "topic".');
}

/**
 * `GET /v1/topics/:pattern/stream`: Server-Sent Events. Each event is `id: <stream sequence>` and
 * `data: {"id","topic","publishedAt","data"}`, with no `event:` line, so it carries SSE's default name
 * `message` and EventSource.onmessage fires for every topic a wildcard matches; `?events=topic` adds
 * `event: <topic>` for clients that listen per topic. Comment heartbeats keep proxies from
 * timing the connection out. A client whose unread bytes stay above the bound is sent a final
 * `event: error` naming the reason and cut off.
 */
export function streamRoutes(deps: StreamRoutesDeps): Router {
  const r = Router();
  const { live } = deps;

  r.get('/v1/topics/:pattern/stream', async (req: Request, res) => {
    const p = principalOf(req);
    const pattern = String(req.params.pattern);
    assertPattern(pattern);
    if (!canSubscribe(p, pattern)) throw new ForbiddenError('auth.forbidden', `This token may not subscribe to "${pattern}".`);
    const start = resumePosition(req.header('last-event-id'), req.query.from);
    const naming = eventNaming(req.query.events);
    // Given back when the response closes, whichever way it ends (an error answer included).
    const release = (await deps.streamQuota?.acquire(p.tenant)) ?? (() => {});
    res.once('close', release);
    if (req.socket.destroyed) release();

    const log = requestLogger(req, deps.logger);
    const gone = new AbortController();
    let feed: LiveFeed | undefined;
    let ended = false;
    const end = (event?: { reason: string; detail: string }) => {
      if (ended) return;
      ended = true;
      gone.abort();
      if (event && !res.destroyed) {
        res.write(`event: error\ndata: ${JSON.stringify(event)}\n\n`);
        // Not kept alive for another request: the client is told to go, and the socket closes once read.
        const socket = res.socket;
        res.once('finish', () => socket?.end());
      }
      res.end();
      void feed?.close();
      // A client that does not even read the goodbye is not waited for.
      setTimeout(() => {
        if (!res.writableFinished) res.destroy();
      }, goodbyeGraceMs(live.options)).unref();
    };
    const conn: LiveConnection = {
      transport: 'sse',
      close: async (reason) => {
        end({ reason: 'shutting_down', detail: `${reason}; reconnect to resume.` });
        await feed?.close();
      },
    };
    if (!live.add(conn)) {
      throw new UnavailableError('stream.too_many_connections', 'This server holds as many live streams as it may; retry shortly.');
    }
    res.on('close', () => {
      live.delete(conn);
      end();
    });
    try {
      feed = await openLiveFeed(deps.js, deps.names, {
        tenant: p.tenant,
        pattern,
        start,
        bufferBytes: feedBufferBytes(live, deps.maxPayloadBytes),
      });
    } catch (err) {
      live.delete(conn);
      throw new UnavailableError('stream.unavailable', 'The message store is unavailable; retry.', { cause: err });
    }
    if (ended) return void feed.close();

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx and friends must not buffer an event stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${live.options.retryMs}\n: stream of ${pattern}\n\n`);
    const heartbeat = setInterval(() => {
      if (!ended) res.write(': heartbeat\n\n');
    }, live.options.heartbeatMs);
    const { maxBufferedBytes, slowClientGraceMs } = live.options;
    try {
      for await (const m of feed) {
        if (ended) break;
        const name = naming === 'topic' ? `event: ${m.topic}\n` : '';
        res.write(`id: ${m.streamSeq}\n${name}data: ${envelopeJson(m)}\n\n`);
        traceStreamSend(m.trace, 'sse', pattern, m.id);
        if (res.writableLength > maxBufferedBytes) {
          // Awaiting here stops the feed too: JetStream pushes nothing more until the client reads.
          const ok = await drained(() => res.writableLength, maxBufferedBytes, slowClientGraceMs, gone.signal);
          if (!ok) {
            if (!ended) {
              log.info({ pattern, buffered: res.writableLength }, 'slow SSE client cut off');
              end({
                reason: 'slow_consumer',
                detail: `More than ${maxBufferedBytes} bytes stayed unread for ${slowClientGraceMs} ms; reconnect with Last-Event-ID to resume.`,
              });
            }
            break;
          }
        }
      }
    } catch (err) {
      log.warn({ err, pattern }, 'SSE feed failed');
      end({ reason: 'unavailable', detail: 'The message feed failed; reconnect to resume.' });
    } finally {
      clearInterval(heartbeat);
      end();
    }
  });

  return r;
}
