/** Options of {@link fairIntake}. */
export interface FairIntakeOptions<T> {
  /** The key whose items take turns: a subscription for delivery jobs, a tenant's topic for messages. */
  keyOf(item: T): string;
  /** Items read ahead of the owner at most. */
  maxItems: number;
  /** Bytes read ahead at most (as `sizeOf` counts them); one item is always let in. @default Infinity */
  maxBytes?: number;
  /** An item's size in bytes. @default 0 for every item */
  sizeOf?(item: T): number;
  /** Called once for each item as it is read from the source (e.g. to keep its ack wait alive). */
  onRead?(item: T): void;
}

/**
 * Reads `source` ahead of its owner (up to `maxItems` / `maxBytes`) and hands the items out with the keys
 * taking turns: one item of each key that has any, round and round, each key's items in the order they
 * were read. A burst under one key (50,000 jobs of one subscription, a batch of messages to one topic)
 * then delays another key's items by at most one turn of the keys that are waiting, instead of by the whole
 * burst, as long as the burst fits in what is read ahead; beyond that, the source's own order holds.
 *
 * The source is read as fast as it yields while there is room, whether or not the owner is taking items.
 * When the source ends, what was read is still handed out, then the iteration ends (an owner that is
 * shutting down gives those back); when the owner stops iterating early, reading stops too, and what was
 * read and not handed out is left to its ack wait.
 */
export class FairIntake<T> implements AsyncIterable<T> {
  /** Waiting items per key; a Map keeps insertion order, and a key that had its turn is moved to the end. */
  private readonly queues = new Map<string, T[]>();
  private items = 0;
  private bytes = 0;
  private ended = false;
  private failure: unknown;
  private stopped = false;
  private wakeTaker: (() => void) | undefined;
  private wakeReader: (() => void) | undefined;
  private readonly maxBytes: number;
  private readonly sizeOf: (item: T) => number;

  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly o: FairIntakeOptions<T>,
  ) {
    this.maxBytes = o.maxBytes ?? Infinity;
    this.sizeOf = o.sizeOf ?? (() => 0);
    void this.read();
  }

  /** Items read and not handed out yet. */
  get waiting(): number {
    return this.items;
  }

  /** Keys with items waiting. */
  get keys(): number {
    return this.queues.size;
  }

  private async read(): Promise<void> {
    try {
      for await (const item of this.source) {
        this.o.onRead?.(item);
        this.put(item);
        while (!this.stopped && this.full()) await new Promise<void>((r) => (this.wakeReader = r));
        if (this.stopped) break;
      }
    } catch (err) {
      this.failure = err;
    }
    this.ended = true;
    this.wake('taker');
  }

  private full(): boolean {
    return this.items >= this.o.maxItems || this.bytes >= this.maxBytes;
  }

  private put(item: T): void {
    const key = this.o.keyOf(item);
    const q = this.queues.get(key);
    if (q) q.push(item);
    else this.queues.set(key, [item]);
    this.items++;
    this.bytes += this.sizeOf(item);
    this.wake('taker');
  }

  /** The next item in turn, or undefined when none waits. */
  private take(): T | undefined {
    const first = this.queues.entries().next();
    if (first.done) return undefined;
    const [key, q] = first.value;
    const item = q.shift()!;
    this.queues.delete(key);
    if (q.length) this.queues.set(key, q);
    this.items--;
    this.bytes -= this.sizeOf(item);
    if (!this.full()) this.wake('reader');
    return item;
  }

  private wake(who: 'taker' | 'reader'): void {
    const w = who === 'taker' ? this.wakeTaker : this.wakeReader;
    if (who === 'taker') this.wakeTaker = undefined;
    else this.wakeReader = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        const item = this.take();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (this.ended) {
          if (this.failure) throw this.failure;
          return;
        }
        await new Promise<void>((r) => (this.wakeTaker = r));
      }
    } finally {
      this.stopped = true;
      this.wake('reader');
    }
  }
}

/** Shorthand: `for await (const m of fairIntake(source, options))`. */
export function fairIntake<T>(source: AsyncIterable<T>, o: FairIntakeOptions<T>): FairIntake<T> {
  return new FairIntake(source, o);
}
