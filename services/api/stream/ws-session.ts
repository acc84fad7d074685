import { WebSocket, type RawData } from 'ws';
import type { JetStreamClient } from 'nats';
import { canSubscribe, type Principal } from '../../../shared/auth/principal.js';
import type { TokenKeys } from '../../../shared/auth/tokens.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TooManyRequestsError,
  UnavailableError,
  ValidationError,
  type AppError,
} from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { envelopeJsonAfter } from '../../../shared/message.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { isValidPattern } from '../../../shared/topics.js';
import { traceStreamSend } from '../http/trace-messaging.js';
import { openLiveFeed, type LiveFeed } from './live-feed.js';
import { drained, feedBufferBytes, goodbyeGraceMs, type LiveConnection, type LiveStreams } from './live-streams.js';
import type { StreamQuota } from './stream-quota.js';

/** Close codes the server uses. */
export const WS_CLOSE = Object.freeze({ goingAway: 1001, slowConsumer: 1013 });

export interface WebSocketDeps {
  js: JetStreamClient;
  names: Names;
  logger: Logger;
  tokens: TokenKeys;
  live: LiveStreams;
  maxPayloadBytes: number;
  /** Per-tenant count of open streams across api replicas (one socket is one stream, whatever it subscribes to). */
  streamQuota?: StreamQuota;
}

/**
 * Client frames:
 *   {"type":"subscribe","pattern":"orders.*","from"?:<seq>}   from: resume after that stream sequence
 *   {"type":"unsubscribe","pattern":"orders.*"}
 *   {"type":"ping"}
 * Server frames:
 *   {"type":"subscribed","pattern"} · {"type":"unsubscribed","pattern"} · {"type":"pong"}
 *   {"type":"message","pattern","seq","id","topic","publishedAt","data"}
 *   {"type":"error","code","message","pattern"?}   the socket stays open
 */
type ClientFrame =
  | { type: 'subscribe'; pattern: string; from?: number }
  | { type: 'unsubscribe'; pattern: string }
  | { type: 'ping' };

interface Subscription {
  pattern: string;
  feed?: LiveFeed;
  closed: boolean;
}

/** One WebSocket: its subscriptions (one feed each), keepalive and slow-consumer guard. */
export class Session implements LiveConnection {
  readonly transport = 'websocket' as const;
  private ws: WebSocket | undefined;
  private readonly subs = new Map<string, Subscription>();
  private heartbeat: NodeJS.Timeout | undefined;
  private alive = true;
  private done = false;

  constructor(
    private readonly deps: WebSocketDeps,
    private readonly principal: Principal,
  ) {}

  serve(ws: WebSocket, onClosed: () => void): void {
    this.ws = ws;
    ws.on('pong', () => (this.alive = true));
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    // A peer's reset or a malformed frame: 'close' follows and cleans up; the error itself is the peer's.
    ws.on('error', (err) => this.deps.logger.debug({ err }, 'WebSocket connection error'));
    ws.on('close', () => {
      this.shutdownFeeds();
      onClosed();
    });
    // Protocol-level keepalive: a peer that misses a whole interval without a pong is gone.
    this.heartbeat = setInterval(() => {
      if (!this.alive) return ws.terminate();
      this.alive = false;
      ws.ping();
    }, this.deps.live.options.heartbeatMs);
    if (this.done) ws.close(WS_CLOSE.goingAway, 'server shutting down');
  }

  async close(reason: string): Promise<void> {
    this.done = true;
    const ws = this.ws;
    ws?.close(WS_CLOSE.goingAway, reason);
    // The closing handshake gets a moment, not the library's 30 s: shutdown must not wait on a peer.
    if (ws) setTimeout(() => ws.terminate(), 1_000).unref();
    await this.shutdownFeeds();
  }

  private shutdownFeeds(): Promise<unknown> {
    clearInterval(this.heartbeat);
    const feeds = [...this.subs.values()].map((s) => {
      s.closed = true;
      return s.feed?.close();
    });
    this.subs.clear();
    return Promise.allSettled(feeds);
  }

  private send(frame: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  /** An `error` frame from one of the typed errors; the socket stays open. */
  private error(problem: AppError, pattern?: string): void {
    this.send({ type: 'error', code: problem.code, message: problem.message, ...(pattern !== undefined ? { pattern } : {}) });
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    let frame: ClientFrame;
    try {
      if (isBinary) throw new Error('binary');
      frame = JSON.parse(data.toString()) as ClientFrame;
      if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') throw new Error('shape');
    } catch {
      return this.error(new ValidationError('frame.invalid', 'Frames are JSON text objects with a "type": subscribe, unsubscribe or ping.'));
    }
    switch (frame.type) {
      case 'ping':
        return this.send({ type: 'pong' });
      case 'subscribe':
        return void this.subscribe(frame);
      case 'unsubscribe':
        return void this.unsubscribe(frame);
      default:
        return this.error(new ValidationError('frame.unknown_type', `Unknown frame type ${JSON.stringify(String((frame as { type: unknown }).type)).slice(0, 60)}.`));
    }
  }

  private async subscribe(frame: { pattern: unknown; from?: unknown }): Promise<void> {
    const pattern = frame.pattern;
    if (typeof pattern !== 'string' || !isValidPattern(pattern)) {
      return this.error(new ValidationError('pattern.invalid', 'pattern must be dot-separated tokens of [A-Za-z0-9_-], with * for one token and a final > for the rest.'), typeof pattern === 'string' ? pattern.slice(0, 255) : undefined);
    }
    const from = frame.from;
    if (from !== undefined && (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 0)) {
      return this.error(new ValidationError('stream.invalid_position', 'from must be a stream sequence (the seq of a message received earlier).'), pattern);
    }
    if (!canSubscribe(this.principal, pattern)) {
      return this.error(new ForbiddenError('auth.forbidden', `This token may not subscribe to "${pattern}".`), pattern);
    }
    if (this.subs.has(pattern)) return this.error(new ConflictError('subscription.exists', `Already subscribed to "${pattern}".`), pattern);
    if (this.subs.size >= this.deps.live.options.maxPatternsPerSocket) {
      return this.error(new TooManyRequestsError('subscription.too_many', `A socket may subscribe to ${this.deps.live.options.maxPatternsPerSocket} patterns at most.`), pattern);
    }
    const sub: Subscription = { pattern, closed: false };
    this.subs.set(pattern, sub);
    try {
      sub.feed = await openLiveFeed(this.deps.js, this.deps.names, {
        tenant: this.principal.tenant,
        pattern,
        start: from === undefined ? 'new' : { after: from },
        bufferBytes: feedBufferBytes(this.deps.live, this.deps.maxPayloadBytes),
      });
    } catch (err) {
      this.deps.logger.warn({ err, pattern }, 'could not open a WebSocket feed');
      if (this.subs.get(pattern) === sub) this.subs.delete(pattern);
      return this.error(new UnavailableError('stream.unavailable', 'The message store is unavailable; subscribe again shortly.'), pattern);
    }
    if (sub.closed) return void sub.feed.close();
    this.send({ type: 'subscribed', pattern, ...(from !== undefined ? { from } : {}) });
    await this.pump(sub, sub.feed);
  }

  private async pump(sub: Subscription, feed: LiveFeed): Promise<void> {
    const { maxBufferedBytes, slowClientGraceMs } = this.deps.live.options;
    try {
      for await (const m of feed) {
        const ws = this.ws;
        if (sub.closed || !ws || ws.readyState !== WebSocket.OPEN) break;
        ws.send(envelopeJsonAfter({ type: 'message', pattern: sub.pattern, seq: m.streamSeq }, m));
        traceStreamSend(m.trace, 'websocket', sub.pattern, m.id);
        if (ws.bufferedAmount > maxBufferedBytes && !(await drained(() => ws.bufferedAmount, maxBufferedBytes, slowClientGraceMs))) {
          this.deps.logger.info({ pattern: sub.pattern, buffered: ws.bufferedAmount }, 'slow WebSocket client cut off');
          ws.close(WS_CLOSE.slowConsumer, `slow consumer: over ${maxBufferedBytes} bytes unread for ${slowClientGraceMs} ms`);
          // The close frame waits behind the unread bytes; a client that reads nothing is not waited for.
          setTimeout(() => ws.terminate(), goodbyeGraceMs(this.deps.live.options)).unref();
          break;
        }
      }
    } catch (err) {
      if (!sub.closed) {
        this.deps.logger.warn({ err, pattern: sub.pattern }, 'WebSocket feed failed');
        this.error(new UnavailableError('stream.unavailable', 'The message feed failed; subscribe again (with from) to resume.'), sub.pattern);
      }
    } finally {
      if (this.subs.get(sub.pattern) === sub) this.subs.delete(sub.pattern);
      sub.closed = true;
      await feed.close();
    }
  }

  private async unsubscribe(frame: { pattern: unknown }): Promise<void> {
    const pattern = typeof frame.pattern === 'string' ? frame.pattern : '';
    const sub = this.subs.get(pattern);
    if (!sub) return this.error(new NotFoundError('subscription.not_found', `Not subscribed to "${pattern.slice(0, 255)}".`), pattern.slice(0, 255));
    sub.closed = true;
    this.subs.delete(pattern);
    await sub.feed?.close();
    this.send({ type: 'unsubscribed', pattern });
  }
}
