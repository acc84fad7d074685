import type { JsMsg } from 'nats';

/**
 * Keeps messages this process has taken but not yet acked from being handed to another replica: every
 * quarter of the ack wait, each message held longer than that gets a `working()`, so no message goes more
 * than half the ack wait without a sign of life. A slow endpoint, a long queue behind a batch or a Postgres
 * hiccup then never turns into a second, concurrent copy, while the ack wait itself can stay short: it is
 * how long a crashed process's work waits for another.
 */
export class AckKeeper {
  private readonly held = new Map<JsMsg, number>();
  private timer: NodeJS.Timeout | undefined;

  /** @param ackWaitMs the consumer's ack wait. */
  constructor(private readonly ackWaitMs = 8000) {}

  start(): void {
    const every = Math.max(1000, this.ackWaitMs / 4);
    this.timer = setInterval(() => {
      const cutoff = Date.now() - every;
      for (const [m, since] of this.held) if (since < cutoff) m.working();
    }, every);
    this.timer.unref();
  }

  hold(m: JsMsg): void {
    this.held.set(m, Date.now());
  }

  release(m: JsMsg): void {
    this.held.delete(m);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
