import type { JetStreamManager } from 'nats';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BREAKER_STATES } from '../../shared/db/endpoint-health.js';
import type { Pool } from '../../shared/db/pool.js';
import { breakerStateCounts } from './storage/breaker.js';
import { parkedCounts, PARK_REASONS } from './storage/deferrals.js';
import type { Names } from '../../shared/nats/subjects.js';

/** Where the gauges collected on scrape read from. */
export interface MetricSources {
  pool: Pool;
  jsm: JetStreamManager;
  names: Names;
  /** Postgres-backed gauges are re-read at most this often. @default 1000 */
  cacheMs?: number;
}

/** Caches an async read for `ms`, sharing one read between concurrent scrapes. */
function cached<T>(read: () => Promise<T>, ms: number): () => Promise<T> {
  let at = 0;
  let value: Promise<T> | undefined;
  return () => {
    if (!value || Date.now() - at > ms) {
      at = Date.now();
      value = read().catch((err) => {
        value = undefined;
        throw err;
      });
    }
    return value;
  };
}

/**
 * Prometheus series the dispatcher feeds. Gauges of shared state (queue, parked deliveries, breakers) are
 * read on scrape and are the same from every dispatcher replica: aggregate them with max(), not sum().
 */
export class DispatchMetrics {
  readonly attempts: Counter<'outcome'>;
  readonly deferred: Counter<'reason'>;
  readonly circuitTransitions: Counter<'to'>;
  readonly disabled: Counter;
  readonly attemptSeconds: Histogram;
  readonly deliveredLatency: Histogram;

  constructor(registry: Registry, sources?: MetricSources) {
    this.attempts = new Counter({
      name: 'hookline_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, dead; interrupted: recorded after its process died)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.deferred = new Counter({
      name: 'hookline_deliveries_deferred_total',
      help: 'Jobs parked in Postgres without an attempt, by reason (paused, circuit, order, routing, rate, inflight)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.circuitTransitions = new Counter({
      name: 'hookline_circuit_transitions_total',
      help: 'Endpoint circuit breaker transitions made by this process, by the state entered',
      labelNames: ['to'],
      registers: [registry],
    });
    this.disabled = new Counter({
      name: 'hookline_subscriptions_disabled_total',
      help: 'Subscriptions disabled by this process (410 Gone, or failing for too long)',
      registers: [registry],
    });
    this.attemptSeconds = new Histogram({
      name: 'hookline_attempt_duration_seconds',
      help: 'Duration of one webhook request',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.deliveredLatency = new Histogram({
      name: 'hookline_publish_to_delivered_seconds',
      help: 'Time from publish to a successful delivery',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600],
      registers: [registry],
    });
    if (sources) this.registerGauges(registry, sources);
  }

  private registerGauges(registry: Registry, { pool, jsm, names, cacheMs = 1000 }: MetricSources) {
    const parked = cached(() => parkedCounts(pool), cacheMs);
    const circuits = cached(() => breakerStateCounts(pool), cacheMs);
    new Gauge({
      name: 'hookline_dispatch_queue_jobs',
      help: 'Delivery jobs in the JetStream work queue: pending (not yet handed out) and ack_pending (being worked on)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        try {
          const info = await jsm.consumers.info(names.deliveriesStream, names.dispatcherConsumer);
          this.set({ state: 'pending' }, info.num_pending);
          this.set({ state: 'ack_pending' }, info.num_ack_pending);
        } catch {
          // NATS unreachable: the series keep their last values rather than failing the scrape.
        }
      },
    });
    new Gauge({
      name: 'hookline_deliveries_parked',
      help: 'Deliveries parked in Postgres (retry backoff, paused, breaker, ordering, limits), by reason',
      labelNames: ['reason'],
      registers: [registry],
      async collect() {
        try {
          const counts = await parked();
          for (const reason of PARK_REASONS) this.set({ reason }, counts[reason] ?? 0);
          for (const [reason, n] of Object.entries(counts)) if (!PARK_REASONS.includes(reason as never)) this.set({ reason }, n);
        } catch {
          // as above
        }
      },
    });
    new Gauge({
      name: 'hookline_circuit_state',
      help: 'Active webhook subscriptions by endpoint circuit breaker state (closed, open, half_open)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        try {
          const counts = await circuits();
          for (const state of BREAKER_STATES) this.set({ state }, counts[state]);
        } catch {
          // as above
        }
      },
    });
  }

  observe(outcome: string, seconds: number, publishedAtMs: number): void {
    this.attempts.inc({ outcome });
    this.attemptSeconds.observe(seconds);
    if (outcome === 'delivered' && Number.isFinite(publishedAtMs)) {
      this.deliveredLatency.observe((Date.now() - publishedAtMs) / 1000);
    }
  }
}
