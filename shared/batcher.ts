/** Options of a {@link Batcher}. */
export interface BatcherOptions {
  /** Flush when this many items wait. @default 200 */
  maxItems?: number;
  /** Flush at the latest this long after the first item of a batch arrived. @default 5 */
  maxDelayMs?: number;
}

/**
 * Collects items from many concurrent callers and hands them to `flush` in one call, resolving each
 * caller with its own result. This is how per-delivery work becomes one SQL statement per batch
 * (the hot path must never await one Postgres round trip per delivery). Batches are flushed one at a
 * time so writes stay ordered and the pool is not flooded.
 */
export class Batcher<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
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
      if (this.queue.length >= this.maxItems) this.kick();
      else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.maxDelayMs);
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
    const batch = this.queue.splice(0, this.maxItems);
    if (!batch.length) return;
    this.running = this.running.then(async () => {
      try {
        const results = await this.flushFn(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i] as R));
      } catch (err) {
        batch.forEach((b) => b.reject(err));
      }
    });
    if (this.queue.length >= this.maxItems) this.kick();
    else if (this.queue.length && !this.timer) this.timer = setTimeout(() => this.kick(), this.maxDelayMs);
  }
}
