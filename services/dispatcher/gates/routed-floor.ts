/** Options of {@link RoutedFloor}. */
export interface RoutedFloorOptions {
  /** How long `covers` keeps looking before it answers false. @default 100 */
  waitMs?: number;
  /** Pause between two looks. @default 10 */
  pollMs?: number;
}

/**
 * How far the router has routed MESSAGES: the ack floor of the router's durable consumer (every message
 * up to it has its deliveries in Postgres). An ordered subscription's head is "the oldest delivery not
 * settled" only once every older message is routed; with several router replicas (or a message routed
 * again after a failure) a newer message can be routed first, so the dispatcher checks this before it
 * sends an ordered head. One lookup is shared by all callers waiting at the same time.
 */
export class RoutedFloor {
  private floor = 0;
  private pending: Promise<void> | undefined;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly fetchFloor: () => Promise<number>,
    options: RoutedFloorOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 100;
    this.pollMs = options.pollMs ?? 10;
  }

  /** The highest sequence known to be routed, with everything before it. */
  get known(): number {
    return this.floor;
  }

  /** True when every message before `seq` has been routed; waits up to `waitMs` for the router. */
  async covers(seq: number): Promise<boolean> {
    if (seq - 1 <= this.floor) return true;
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      await this.refresh();
      if (seq - 1 <= this.floor) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  private refresh(): Promise<void> {
    this.pending ??= this.fetchFloor()
      .then((f) => {
        if (f > this.floor) this.floor = f;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
