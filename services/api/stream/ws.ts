import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { JetStreamClient } from 'nats';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { canSubscribe, type Principal } from '../../../shared/auth/principal.js';
import { verifyToken, type TokenKeys } from '../../../shared/auth/tokens.js';
import {
  ConflictError,
  ForbiddenError,
  isAppError,
  NotFoundError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  type AppError,
} from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import { envelopeJsonAfter } from '../../../shared/message.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { isValidPattern } from '../../../shared/topics.js';
import { endSocketWithProblem } from '../middleware/problem.js';
import { feedBufferBytes } from '../routes/stream.js';
import { openLiveFeed, type LiveFeed } from './live-feed.js';
import { drained, goodbyeGraceMs, type LiveConnection, type LiveStreams } from './live-streams.js';
import type { StreamQuota } from './stream-quota.js';
import { traceStreamSend } from '../http/trace-messaging.js';

/** Where the WebSocket twin of the SSE stream listens. */
export const WS_PATH = '/v1/ws';
/** Largest client frame: subscribe, unsubscribe and ping frames are tiny. */
const MAX_CLIENT_FRAME = 16 * 1024;

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

/** The attached endpoint; `close()` stops taking upgrades and closes every socket (1001). */
export interface WebSocketEndpoint {
  close(): Promise<void>;
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

/** Authorization header first; `?access_token=` for clients that cannot set headers (browsers). */
function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  return url.searchParams.get('access_token') ?? undefined;
}

/**
 * Serves `GET /v1/ws` on `server`'s upgrade event. The token is checked before the upgrade completes
 * (401 otherwise, as a problem document); the request line is never logged, as it may carry the token.
 */
export function attachWebSockets(server: Server, deps: WebSocketDeps): WebSocketEndpoint {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false });
  const sessions = new Set<Session>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) {
      // Another path may belong to another upgrade listener; with none, answer rather than hang.
      if (server.listenerCount('upgrade') === 1) endSocketWithProblem(socket, new NotFoundError('route.not_found', `No WebSocket endpoint at ${url.pathname}.`));
      return;
    }
    const token = tokenOf(req, url);
    let principal: Principal;
    try {
      if (!token) throw new Error('A bearer token is required (Authorization header or access_token).');
      principal = verifyToken(token, deps.tokens);
    } catch (err) {
      return endSocketWithProblem(socket, new UnauthorizedError('auth.invalid_token', (err as Error).message));
    }
    void admit(req, socket, head, principal);
  };

  /** Takes one of the tenant's stream places, then this process's, then upgrades. */
  const admit = async (req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal) => {
    if (deps.streamQuota) {
      // Nobody else listens on the raw socket until ws takes it over: a reset meanwhile must not go unhandled.
      socket.on('error', () => socket.destroy());
      let release: () => void;
      try {
        release = await deps.streamQuota.acquire(principal.tenant);
      } catch (err) {
        return endSocketWithProblem(
          socket,
          isAppError(err) ? err : new UnavailableError('stream.unavailable', 'The stream registry is unavailable; retry.'),
        );
      }
      // The raw socket closes however the connection ends: refused, upgraded and closed, or dropped.
      socket.once('close', release);
      if (socket.destroyed) return release();
    }
    const session = new Session(deps, principal);
    if (!deps.live.add(session)) {
      return endSocketWithProblem(
        socket,
        new UnavailableError('stream.too_many_connections', 'This server holds as many live streams as it may; retry shortly.'),
      );
    }
    // A handshake ws refuses (bad headers) never reaches the callback: release the slot with the socket.
    let upgraded = false;
    socket.once('close', () => {
      if (!upgraded) deps.live.delete(session);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      sessions.add(session);
      session.serve(ws, () => {
        sessions.delete(session);
        deps.live.delete(session);
      });
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    async close() {
      server.off('upgrade', onUpgrade);
      await Promise.allSettled([...sessions].map((s) => s.close('server shutting down')));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

interface Subscription {
  pattern: string;
  feed?: LiveFeed;
  closed: boolean;
}

/** One WebSocket: its subscriptions (one feed each), keepalive and slow-consumer guard. */
class Session implements LiveConnection {
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
    ws.on('error', () => {});
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
