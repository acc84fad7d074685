import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LiveStreams, LiveTransport } from '../stream/live-streams.js';

/** Request duration buckets (seconds): from a cached read to a 30 s long poll. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The route label of a request no route answered: unknown paths must not mint a series each. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The series the HTTP API feeds. One set per registry however many apps serve it (a test may build
 * several apps on one registry); see docs/endpoint-health.md#metrics for what each means.
 */
export class ApiMetrics {
  private static readonly byRegistry = new WeakMap<Registry, ApiMetrics>();

  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestSeconds: Histogram<'method' | 'route' | 'status'>;
  readonly published: Counter<'tenant'>;
  readonly pollFetches: Counter<'result'>;
  readonly pollMessages: Counter;
  readonly pollSettlements: Counter<'kind'>;
  private readonly streams = new Set<LiveStreams>();

  static for(registry: Registry): ApiMetrics {
    let m = ApiMetrics.byRegistry.get(registry);
    if (!m) ApiMetrics.byRegistry.set(registry, (m = new ApiMetrics(registry)));
    return m;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'hookline_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'hookline_http_request_duration_seconds',
      help: 'Time from a request’s arrival to the end of its response, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.published = new Counter({
      name: 'hookline_messages_published_total',
      help: 'Messages accepted (stored in JetStream) by tenant; idempotent repeats not counted',
      labelNames: ['tenant'],
      registers,
    });
    this.pollFetches = new Counter({
      name: 'hookline_poll_fetches_total',
      help: 'Poll requests answered, by result (messages: at least one handed out; empty)',
      labelNames: ['result'],
      registers,
    });
    this.pollMessages = new Counter({
      name: 'hookline_poll_messages_total',
      help: 'Messages handed out to poll clients (a redelivery counts again)',
      registers,
    });
    this.pollSettlements = new Counter({
      name: 'hookline_poll_settlements_total',
      help: 'Poll ack ids settled, by kind (ack, nack)',
      labelNames: ['kind'],
      registers,
    });
    const streams = this.streams;
    new Gauge({
      name: 'hookline_stream_connections',
      help: 'Open live streams of this process, by transport (sse, websocket)',
      labelNames: ['transport'],
      registers,
      collect() {
        for (const transport of ['sse', 'websocket'] as LiveTransport[]) {
          let n = 0;
          for (const live of streams) n += live.count(transport);
          this.set({ transport }, n);
        }
      },
    });
  }

  /** Counts `live`'s connections in `hookline_stream_connections`. */
  watch(live: LiveStreams): void {
    this.streams.add(live);
  }

  /**
   * Times every request and labels it with its route template (`/v1/subscriptions/:id`), never the
   * concrete path, so the number of series stays bounded by the API's routes.
   */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const path = (req.route as { path?: unknown } | undefined)?.path;
        const route = typeof path === 'string' ? `${req.baseUrl}${path}` : UNMATCHED_ROUTE;
        const labels = { method: req.method, route, status: String(res.statusCode) };
        this.requests.inc(labels);
        this.requestSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    };
  }
}
