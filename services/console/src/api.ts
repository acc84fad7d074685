import { createHooklineClient, HooklineError, unwrap } from '../../../shared/client/index.js';

/**
 * Every call the console makes, through the public HTTP API with the signed-in token: the page has no
 * private API. Kept in one module so the transport can change without touching a view.
 */

export type DeliveryStatus = 'pending' | 'failed' | 'succeeded' | 'dead';
export const DELIVERY_STATUSES: DeliveryStatus[] = ['pending', 'failed', 'succeeded', 'dead'];

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
}

export interface Subscription {
  id: string;
  type: 'webhook' | 'poll';
  topic: string;
  url: string | null;
  status: string;
  retry?: RetryPolicy;
  timeoutMs?: number;
  ordered?: boolean;
  filter?: unknown;
  description?: string | null;
  maxInFlight?: number;
  createdAt: string;
  disabledReason?: string;
  health?: { state: string; reason?: string; failingSince?: string; nextProbeAt?: string };
  [key: string]: unknown;
}

export interface Delivery {
  id: string;
  messageId: string;
  subscriptionId: string;
  topic?: string;
  status: DeliveryStatus;
  attemptCount?: number;
  attempts?: Attempt[];
  createdAt?: string;
  nextAttemptAt?: string | null;
  lastError?: string | null;
  lastStatusCode?: number;
  [key: string]: unknown;
}

export interface Attempt {
  n: number;
  startedAt?: string;
  at?: string;
  durationMs?: number | null;
  statusCode?: number | null;
  error?: string | null;
  responseExcerpt?: string | null;
  [key: string]: unknown;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface Counts {
  pending: number;
  failed: number;
  succeeded: number;
  dead: number;
  total: number;
}

export interface Window {
  attempts: number;
  succeeded: number;
  failed: number;
  successRate: number | null;
}

export interface Stats {
  counts: Counts;
  lastHour: Window;
  lastDay: Window;
  perMinute: { minute: string; messages: number; deliveries: number }[];
  failingSubscriptions: {
    id: string;
    topic: string;
    url: string | null;
    status: string;
    breaker: { state: string } | null;
    lastFailure: { at: string; error: string | null; statusCode: number | null } | null;
  }[];
}

export interface SubscriptionStats {
  counts: Counts;
  lastHour: Window;
  lastSuccessAt: string | null;
  lastFailure: { at: string; error: string | null; statusCode: number | null } | null;
  latencyMs: { p50: number; p95: number } | null;
  breaker: { state: string } | null;
}

export interface MessageSummary {
  id: string;
  topic: string;
  publishedAt: string;
  deliveries: Counts;
  settled: boolean;
}

export interface MessageDetail {
  id: string;
  topic: string;
  publishedAt: string;
  data: unknown;
  deliveries: Delivery[];
  settled: boolean;
}

/** A problem+json answer (or a network failure) as an Error whose message is the problem's `detail`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    /** The broker's problem code, `http_<status>` without a problem body, or `network`. */
    readonly code: string,
    detail: string,
    readonly errors?: { path: string; message: string }[],
  ) {
    super(detail);
  }
}


/** The problem of a failed call as an ApiError; network failures included. */
function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HooklineError) {
    const errors = (err.problem as { errors?: { path: string; message: string }[] } | undefined)?.errors;
    return new ApiError(err.status, err.code, err.message, Array.isArray(errors) ? errors : undefined);
  }
  return new ApiError(0, 'network', `Hookline could not be reached: ${(err as Error).message}`);
}

/** A random Idempotency-Key; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
function idempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The API as the signed-in principal sees it: the typed client (shared/client, openapi-fetch). */
export function hooklineApi(token: string | null) {
  const client = createHooklineClient({ baseUrl: location.origin, token: token ?? undefined, publishRetries: 2 });
  const { api } = client;
  const done = async <T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<T> => {
    try {
      return unwrap(await call) as T;
    } catch (err) {
      throw toApiError(err);
    }
  };
  const id = (value: string) => ({ params: { path: { id: value } } });
  return {
    stats: () => done<Stats>(api.GET('/v1/stats')),
    subscriptionStats: (sid: string) => done<SubscriptionStats>(api.GET('/v1/subscriptions/{id}/stats', id(sid))),
    listMessages: (topic: string, cursor?: string | null, limit = 25) =>
      done<Page<MessageSummary>>(api.GET('/v1/messages', { params: { query: { topic, limit, ...(cursor ? { cursor } : {}) } } })),

    listSubscriptions: (cursor?: string | null, limit = 25) =>
      done<Page<Subscription>>(api.GET('/v1/subscriptions', { params: { query: { limit, ...(cursor ? { cursor } : {}) } } })),
    getSubscription: (sid: string) => done<Subscription>(api.GET('/v1/subscriptions/{id}', id(sid))),
    createSubscription: (body: Record<string, unknown>) =>
      done<Subscription & { secret?: string }>(api.POST('/v1/subscriptions', { body: body as never })),
    updateSubscription: (sid: string, body: Record<string, unknown>) =>
      done<Subscription>(api.PATCH('/v1/subscriptions/{id}', { ...id(sid), body: body as never })),
    deleteSubscription: (sid: string) => done<unknown>(api.DELETE('/v1/subscriptions/{id}', id(sid))).then(() => true),
    pause: (sid: string) => done<Subscription>(api.POST('/v1/subscriptions/{id}/pause', id(sid))),
    resume: (sid: string) => done<Subscription>(api.POST('/v1/subscriptions/{id}/resume', id(sid))),
    rotateSecret: (sid: string) => done<{ secret: string }>(api.POST('/v1/subscriptions/{id}/rotate-secret', id(sid))),
    verify: (sid: string) => done<Subscription>(api.POST('/v1/subscriptions/{id}/verify', id(sid))),
    testFilter: (sid: string, payload: unknown, filter?: unknown) =>
      done<{ matches: boolean }>(
        api.POST('/v1/subscriptions/{id}/test-filter', { ...id(sid), body: (filter === undefined ? { payload } : { payload, filter }) as never }),
      ),
    replay: (sid: string, body: { since: string; until?: string; status?: string; dryRun: boolean }) =>
      done<Record<string, unknown>>(api.POST('/v1/subscriptions/{id}/replay', { ...id(sid), body: body as never })),

    listDeliveries: (sid: string, status?: DeliveryStatus, cursor?: string | null, limit = 25) =>
      done<Page<Delivery>>(
        api.GET('/v1/subscriptions/{id}/deliveries', {
          params: { path: { id: sid }, query: { limit, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      ),
    getDelivery: (did: string) => done<Delivery>(api.GET('/v1/deliveries/{id}', id(did))),
    retryDelivery: (did: string) => done<Delivery>(api.POST('/v1/deliveries/{id}/retry', id(did))),

    getMessage: (mid: string) => done<MessageDetail>(api.GET('/v1/messages/{id}', id(mid))),
    /** The payload is checked as JSON by the form; a 503 is retried under one Idempotency-Key. */
    publish: (topic: string, json: string) =>
      client.publish(topic, JSON.parse(json), { idempotencyKey: idempotencyKey() }).catch((err: unknown) => {
        throw toApiError(err);
      }),

    exchangePortalCode: (code: string) =>
      done<{ token: string; expiresAt: string; tenant: string; subject: string; topics: string[] }>(
        api.POST('/v1/portal/exchange', { body: { code } }),
      ),
  };
}

export type HooklineApi = ReturnType<typeof hooklineApi>;
