/** Options of a {@link Batcher}. */
export interface BatcherOptions {
  /** Flush when this many items wait. @default 200 */
  maxItems?: number;
  /**
   * Flush at the latest this long after the first item of a batch arrived. 0: as soon as the current
   * task is done, so what arrived together (one socket read's worth of messages) still goes together, and
   * a lone item waits for nothing. @default 5
   */
  maxDelayMs?: number;
}

/**
 * Collects items from many concurrent callers and hands them to `flush` in one call, resolving each
 * caller with its own result. This is how per-delivery work becomes one SQL statement per batch
 * (the hot path must never await one Postgres round trip per delivery). Batches are flushed one at a
 * time so writes stay ordered and the pool is not flooded.
 *
 * A batch is cut when its flush starts, not when it is scheduled: whatever arrived while the previous
 * flush ran goes out together in the next one (up to `maxItems`). Cutting batches early queued many
 * small batches behind a slow flush, each paying a full round trip (bench/README.md, figure A).
 */
export class Batcher<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private flushing = false;
  private readonly maxItems: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    options: BatcherOptions = {},
  ) {
    this.maxItems = options.maxItems ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5;
  }

  /** Queues one item; resolves with its result once its batch is flushed. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // While a flush runs, the next batch gathers; the running flush takes it when it is done.
      if (this.flushing) return;
      if (this.queue.length >= this.maxItems) this.kick();
      else if (this.maxDelayMs === 0) {
        if (this.queue.length === 1) queueMicrotask(() => this.kick());
      } else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.maxDelayMs);
    });
  }

  /** Flushes whatever waits now and resolves when every batch queued so far is done. */
  async drain(): Promise<void> {
    if (this.queue.length) this.kick();
    await this.running;
  }

  get pending(): number {
    return this.queue.length;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing || !this.queue.length) return;
    this.flushing = true;
    this.running = this.flushAll();
  }

  private async flushAll(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxItems);
      try {
        const results = await this.flushFn(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i] as R));
      } catch (err) {
        batch.forEach((b) => b.reject(err));
      }
    }
    this.flushing = false;
  }
}
