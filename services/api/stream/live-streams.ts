/** Limits and timings of the live streams (SSE and WebSocket). */
export interface LiveStreamOptions {
  /** SSE heartbeat comment and WebSocket protocol ping interval. @default 15000 */
  heartbeatMs: number;
  /** Bytes a client may leave unread in its connection's write buffer before it counts as slow. @default 1048576 */
  maxBufferedBytes: number;
  /** How long the buffer may stay above `maxBufferedBytes` before the client is cut off. @default 5000 */
  slowClientGraceMs: number;
  /** Open SSE streams and WebSockets per api process; more are refused with 503. @default 5000 */
  maxConnections: number;
  /** Patterns one WebSocket may subscribe to at once. @default 32 */
  maxPatternsPerSocket: number;
  /** The reconnection delay an SSE client is told to use (`retry:`). @default 2000 */
  retryMs: number;
  /** Bytes JetStream may push ahead of a client into this process, per feed. @default 1048576 */
  feedBufferBytes: number;
}

export const DEFAULT_LIVE_STREAM_OPTIONS: Readonly<LiveStreamOptions> = Object.freeze({
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  slowClientGraceMs: 5_000,
  maxConnections: 5_000,
  maxPatternsPerSocket: 32,
  retryMs: 2_000,
  feedBufferBytes: 1024 * 1024,
});

/**
 * How long a client that was cut off (slow, or shutdown) gets to read the goodbye (`event: error`, the
 * close frame) queued behind its unread bytes before its socket is destroyed.
 */
export function goodbyeGraceMs(o: LiveStreamOptions): number {
  return Math.max(o.slowClientGraceMs, 10_000);
}

export type LiveTransport = 'sse' | 'websocket';

/** An open SSE stream or WebSocket, as the registry sees it. */
export interface LiveConnection {
  readonly transport: LiveTransport;
  /** Ends the connection (server shutting down); resolves when its feeds are closed. */
  close(reason: string): Promise<void>;
}

/**
 * The live connections of one api process: caps their number and closes them all on shutdown, so
 * `server.close()` is not held open by streams that never end on their own.
 */
export class LiveStreams {
  readonly options: LiveStreamOptions;
  private readonly open = new Set<LiveConnection>();
  private closing = false;

  constructor(options: Partial<LiveStreamOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_LIVE_STREAM_OPTIONS, ...options });
  }

  get size(): number {
    return this.open.size;
  }

  /** Open connections over `transport`. */
  count(transport: LiveTransport): number {
    let n = 0;
    for (const c of this.open) if (c.transport === transport) n++;
    return n;
  }

  /** Registers a connection; false when the process is full or shutting down. */
  add(c: LiveConnection): boolean {
    if (this.closing || this.open.size >= this.options.maxConnections) return false;
    this.open.add(c);
    return true;
  }

  delete(c: LiveConnection): void {
    this.open.delete(c);
  }

  /** Closes every connection and refuses new ones. */
  async closeAll(reason = 'server shutting down'): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.open].map((c) => c.close(reason)));
    this.open.clear();
  }
}

/**
 * Resolves true once `buffered()` is at or below `bound`, false if it stays above for `graceMs` (or
 * `signal` aborts). Polled: neither an http.ServerResponse nor a WebSocket says when its buffer shrinks
 * below an arbitrary bound.
 */
export async function drained(
  buffered: () => number,
  bound: number,
  graceMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  while (buffered() > bound) {
    if (signal?.aborted || Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(25, Math.max(1, deadline - Date.now()))));
  }
  return !signal?.aborted;
}

/** The bytes a JetStream feed may push ahead: at least one message of the largest accepted size. */
export function feedBufferBytes(live: LiveStreams, maxPayloadBytes: number): number {
  return Math.max(live.options.feedBufferBytes, maxPayloadBytes + 64 * 1024);
}
