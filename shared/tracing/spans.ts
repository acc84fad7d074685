import type { Attributes, Context, Link, Span, SpanKind, SpanOptions, Tracer } from '@opentelemetry/api';
import type { MsgHdrs } from 'nats';

/**
 * The span helpers every hot path calls. They only hold types of `@opentelemetry/api`: the API and the SDK
 * are imported by start-tracing.ts once OTEL_* configuration asks for traces. Until then `live` stays
 * undefined and every helper is one comparison followed by the wrapped call, so a broker without tracing
 * allocates no span, context or header for it.
 */

/** The part of Hookline a span comes from: its instrumentation scope is `hookline.<scope>`. */
export type TraceScope = 'api' | 'router' | 'dispatcher';

type Api = typeof import('@opentelemetry/api');

interface Live {
  api: Api;
  tracers: Record<TraceScope, Tracer>;
}

let live: Live | undefined;

/** Called by start-tracing.ts once the SDK is registered (and with undefined on shutdown). */
export function setTracingApi(api: Api | undefined): void {
  live = api && {
    api,
    tracers: { api: api.trace.getTracer('hookline.api'), router: api.trace.getTracer('hookline.router'), dispatcher: api.trace.getTracer('hookline.dispatcher') },
  };
}

/** Whether spans are made at all in this process. */
export function tracingEnabled(): boolean {
  return live !== undefined;
}

/** What a helper needs to start a span. */
export interface SpanStart {
  kind?: 'server' | 'client' | 'producer' | 'consumer' | 'internal';
  attributes?: Attributes;
  /** The parent; @default the active context */
  parent?: Context;
  links?: Link[];
  startTime?: number;
}

const KINDS = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const satisfies Record<string, SpanKind>;

function start(l: Live, scope: TraceScope, name: string, s: SpanStart): { span: Span; ctx: Context } {
  const parent = s.parent ?? l.api.context.active();
  const options: SpanOptions = { kind: KINDS[s.kind ?? 'internal'] as SpanKind, attributes: s.attributes, links: s.links, startTime: s.startTime };
  const span = l.tracers[scope].startSpan(name, options, parent);
  return { span, ctx: l.api.trace.setSpan(parent, span) };
}

function fail(l: Live, span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: l.api.SpanStatusCode.ERROR, message: (err as Error)?.message });
}

/**
 * Runs `fn` inside a new span (active for everything `fn` awaits, so log lines and nested spans join it);
 * the span ends when `fn` settles and records a throw as an error. Without tracing: `fn(undefined)`.
 */
export function inSpan<T>(scope: TraceScope, name: string, s: SpanStart, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  const l = live;
  if (!l) return fn(undefined);
  const { span, ctx } = start(l, scope, name, s);
  return l.api.context.with(ctx, async () => {
    try {
      return await fn(span);
    } catch (err) {
      fail(l, span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** inSpan for synchronous work. */
export function inSpanSync<T>(scope: TraceScope, name: string, s: SpanStart, fn: (span: Span | undefined) => T): T {
  const l = live;
  if (!l) return fn(undefined);
  const { span, ctx } = start(l, scope, name, s);
  return l.api.context.with(ctx, () => {
    try {
      return fn(span);
    } catch (err) {
      fail(l, span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span the caller ends itself (it outlives one call, e.g. a message's handling across a batch). */
export function openSpan(scope: TraceScope, name: string, s: SpanStart): { span: Span; ctx: Context } | undefined {
  const l = live;
  return l && start(l, scope, name, s);
}

/** Ends `span`, marking it failed when `err` is given. */
export function closeSpan(span: Span, err?: unknown): void {
  const l = live;
  if (l && err !== undefined) fail(l, span, err);
  span.end();
}

/** Runs `fn` with `ctx` active (log lines and spans inside join it); plain `fn()` without tracing or ctx. */
export function withContext<T>(ctx: Context | undefined, fn: () => T): T {
  const l = live;
  return l && ctx ? l.api.context.with(ctx, fn) : fn();
}

/** Marks the active span failed (an outcome that is an error without a throw, e.g. a 503 answer). */
export function markError(span: Span | undefined, message: string): void {
  const l = live;
  if (l && span) span.setStatus({ code: l.api.SpanStatusCode.ERROR, message });
}

const natsGetter = {
  keys: (h: MsgHdrs) => h.keys(),
  get: (h: MsgHdrs, key: string) => (h.has(key) ? h.get(key) : undefined),
};
const natsSetter = { set: (h: MsgHdrs, key: string, value: string) => h.set(key, value) };
const recordSetter = { set: (h: Record<string, string>, key: string, value: string) => (h[key] = value) };
const recordGetter = {
  keys: (h: Record<string, string | string[] | undefined>) => Object.keys(h),
  get: (h: Record<string, string | string[] | undefined>, key: string) => h[key],
};

/** Writes the active (or given) context into NATS message headers as W3C `traceparent`/`tracestate`. */
export function injectNats(headers: MsgHdrs, ctx?: Context): void {
  const l = live;
  if (l) l.api.propagation.inject(ctx ?? l.api.context.active(), headers, natsSetter);
}

/** The context carried in NATS message headers; undefined when there is none or tracing is off. */
export function extractNats(headers: MsgHdrs | undefined): Context | undefined {
  const l = live;
  if (!l || !headers || !headers.has('traceparent')) return undefined;
  return l.api.propagation.extract(l.api.ROOT_CONTEXT, headers, natsGetter);
}

/** Writes the active context into HTTP request headers (the webhook's `traceparent`). */
export function injectHttp(headers: Record<string, string>): void {
  const l = live;
  if (l) l.api.propagation.inject(l.api.context.active(), headers, recordSetter);
}

/** The context of an incoming HTTP request's `traceparent`, or the root context when it has none. */
export function extractHttp(headers: Record<string, string | string[] | undefined>): Context | undefined {
  const l = live;
  return l && l.api.propagation.extract(l.api.ROOT_CONTEXT, headers, recordGetter);
}

/**
 * A link to the trace a message was published in, from its stored `traceparent` (a retry's new trace
 * points back at the publish this way).
 */
export function linkTo(traceparent: string | undefined, tracestate?: string): Link | undefined {
  const l = live;
  if (!l || !traceparent) return undefined;
  const ctx = l.api.propagation.extract(l.api.ROOT_CONTEXT, { traceparent, ...(tracestate ? { tracestate } : {}) }, recordGetter);
  const sc = l.api.trace.getSpanContext(ctx);
  return sc && l.api.trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

const NO_FIELDS: Record<string, string> = Object.freeze({});

/**
 * pino mixin: `trace_id`/`span_id` of the span active when a line is written. Its fields are a fresh object
 * when there are any: pino merges a line's own fields into it (see traceLogMerge).
 */
export function traceLogFields(): Record<string, string> {
  const l = live;
  if (!l) return NO_FIELDS;
  const sc = l.api.trace.getSpan(l.api.context.active())?.spanContext();
  return sc && l.api.trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : NO_FIELDS;
}

/** pino mixinMergeStrategy: a line without trace fields is logged as it is, with no object allocated. */
export function traceLogMerge(fields: object, mixin: object): object {
  return mixin === NO_FIELDS ? fields : Object.assign(mixin, fields);
}
