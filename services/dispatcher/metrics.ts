import { Counter, Histogram, type Registry } from 'prom-client';

/** Prometheus series the dispatcher feeds. */
export class DispatchMetrics {
  readonly attempts: Counter<'outcome'>;
  readonly parked: Counter;
  readonly attemptSeconds: Histogram;
  readonly deliveredLatency: Histogram;

  constructor(registry: Registry) {
    this.attempts = new Counter({
      name: 'hookline_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, dead)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.parked = new Counter({
      name: 'hookline_deliveries_throttled_total',
      help: 'Jobs parked in Postgres because their endpoint was struggling and used its slots',
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
  }

  observe(outcome: string, seconds: number, publishedAtMs: number): void {
    this.attempts.inc({ outcome });
    this.attemptSeconds.observe(seconds);
    if (outcome === 'delivered' && Number.isFinite(publishedAtMs)) {
      this.deliveredLatency.observe((Date.now() - publishedAtMs) / 1000);
    }
  }
}
