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
    readonly code: string | undefined,
    detail: string,
    readonly errors?: { path: string; message: string }[],
  ) {
    super(detail);
  }
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | undefined | null>): string {
  const q = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return q.length ? `?${q.map(([k, v]) => `${k}=${enc(String(v))}`).join('&')}` : '';
}

async function call<T>(token: string | null, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'network', `Hookline could not be reached: ${(err as Error).message}`);
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  if (!res.ok) {
    throw new ApiError(
      res.status,
      typeof json?.code === 'string' ? json.code : undefined,
      typeof json?.detail === 'string' ? json.detail : `${res.status} ${res.statusText}`,
      Array.isArray(json?.errors) ? (json.errors as { path: string; message: string }[]) : undefined,
    );
  }
  return json as T;
}

/** The API as the signed-in principal sees it. */
export function hooklineApi(token: string | null) {
  const get = <T>(path: string) => call<T>(token, 'GET', path);
  const post = <T>(path: string, body?: unknown) => call<T>(token, 'POST', path, body ?? {});
  return {
    stats: () => get<Stats>('/v1/stats'),
    subscriptionStats: (id: string) => get<SubscriptionStats>(`/v1/subscriptions/${enc(id)}/stats`),

    listSubscriptions: (cursor?: string | null, limit = 25) =>
      get<Page<Subscription>>(`/v1/subscriptions${query({ limit, cursor })}`),
    getSubscription: (id: string) => get<Subscription>(`/v1/subscriptions/${enc(id)}`),
    createSubscription: (body: Record<string, unknown>) =>
      post<Subscription & { secret?: string }>('/v1/subscriptions', body),
    updateSubscription: (id: string, body: Record<string, unknown>) =>
      call<Subscription>(token, 'PATCH', `/v1/subscriptions/${enc(id)}`, body),
    deleteSubscription: (id: string) => call<unknown>(token, 'DELETE', `/v1/subscriptions/${enc(id)}`),
    pause: (id: string) => post<Subscription>(`/v1/subscriptions/${enc(id)}/pause`),
    resume: (id: string) => post<Subscription>(`/v1/subscriptions/${enc(id)}/resume`),
    rotateSecret: (id: string) => post<{ secret: string }>(`/v1/subscriptions/${enc(id)}/rotate-secret`),
    verify: (id: string) => post<Subscription>(`/v1/subscriptions/${enc(id)}/verify`),
    testFilter: (id: string, payload: unknown, filter?: unknown) =>
      post<{ matches: boolean }>(`/v1/subscriptions/${enc(id)}/test-filter`, filter === undefined ? { payload } : { payload, filter }),
    replay: (id: string, body: { since: string; until?: string; status?: string; dryRun: boolean }) =>
      post<Record<string, unknown>>(`/v1/subscriptions/${enc(id)}/replay`, body),

    listDeliveries: (subscriptionId: string, status?: DeliveryStatus, cursor?: string | null, limit = 25) =>
      get<Page<Delivery>>(`/v1/subscriptions/${enc(subscriptionId)}/deliveries${query({ status, limit, cursor })}`),
    getDelivery: (id: string) => get<Delivery>(`/v1/deliveries/${enc(id)}`),
    retryDelivery: (id: string) => post<Delivery>(`/v1/deliveries/${enc(id)}/retry`),

    listMessages: (topic: string, cursor?: string | null, limit = 25) =>
      get<Page<MessageSummary>>(`/v1/messages${query({ topic, limit, cursor })}`),
    getMessage: (id: string) => get<MessageDetail>(`/v1/messages/${enc(id)}`),
    publish: (topic: string, json: string) =>
      post<{ id: string; topic: string; publishedAt: string }>(`/v1/topics/${enc(topic)}/messages`, json),

    exchangePortalCode: (code: string) =>
      post<{ token: string; expiresAt: string; tenant: string; subject: string; topics: string[] }>('/v1/portal/exchange', { code }),
  };
}

export type HooklineApi = ReturnType<typeof hooklineApi>;
