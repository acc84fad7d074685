import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import { fairIntake } from '../../shared/fair-intake.js';
import type { Logger } from '../../shared/logger.js';
import { AckKeeper } from '../../shared/nats/ack-keeper.js';
import { durableMessages } from '../../shared/nats/durable-messages.js';

/** Where the pull loop reads jobs from and how many it runs at once. */
export interface PullLoopOptions {
  js: JetStreamClient;
  stream: string;
  consumer: string;
  /** Jobs handled at once (and pulled per request). */
  concurrency: number;
  /** The consumer's ack wait: jobs running longer than a quarter of it are kept alive (AckKeeper). */
  ackWaitMs: number;
  logger: Logger;
  /** Jobs read ahead of the handlers, in which subscriptions take turns. @default DISPATCH_READ_AHEAD */
  readAhead?: number;
}

/** Jobs read ahead of the handlers by default: a burst of this many for one subscription delays no other. */
export const DISPATCH_READ_AHEAD = 4096;
/** Bytes of jobs (with the messages they carry) read ahead at most, whatever their count. */
const READ_AHEAD_BYTES = 64 * 1024 * 1024;

/**
 * How jobs get from JetStream to the pipeline: pulls from the durable consumer that every replica shares,
 * runs up to `concurrency` handlers at once, keeps long-running jobs alive, and naks a job whose handler
 * failed so it is redelivered. The handler settles the job (ack, nak, term); the loop never acks.
 *
 * Jobs are read up to `readAhead` ahead of the handlers and handed to them with subscriptions taking turns
 * (shared/fair-intake.ts; the subject names the subscription): one subscription's burst — a dead or slow
 * endpoint's 50,000 first attempts — then delays another's jobs by one turn, not by the whole burst, as long
 * as the burst fits in what is read ahead. Jobs read ahead are kept alive like running ones.
 */
export class PullLoop {
  private readonly keeper: AckKeeper;
  private readonly inFlight = new Set<Promise<void>>();
  /** Wakes the loop when it waits for a free slot (it is the only one that ever waits). */
  private slotFreed: (() => void) | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly options: PullLoopOptions,
    private readonly handle: (m: JsMsg) => Promise<void>,
  ) {
    this.keeper = new AckKeeper(options.ackWaitMs);
  }

  /** Fails when the consumer is not there; later interruptions are reopened by durableMessages. */
  async ready(): Promise<void> {
    await this.options.js.consumers.get(this.options.stream, this.options.consumer);
  }

  start(): void {
    const { js, stream, consumer, concurrency, logger } = this.options;
    this.loop = this.run(
      fairIntake(
        durableMessages({
          js,
          stream,
          consumer,
          maxMessages: concurrency,
          logger,
          stopping: () => this.stopping,
          onOpen: (messages) => (this.messages = messages),
        }),
        {
          keyOf: (m) => m.subject,
          maxItems: this.options.readAhead ?? DISPATCH_READ_AHEAD,
          maxBytes: READ_AHEAD_BYTES,
          sizeOf: (m) => m.data.length,
          onRead: (m) => this.keeper.hold(m),
        },
      ),
    );
    this.keeper.start();
  }

  private async run(messages: AsyncIterable<JsMsg>): Promise<void> {
    for await (const m of messages) {
      if (this.stopping) {
        // Not started: let another replica (or our restart) take it right away.
        this.keeper.release(m);
        m.nak();
        continue;
      }
      const task = this.handle(m).catch((err) => {
        this.options.logger.error({ err, subject: m.subject }, 'delivery job failed; it will be redelivered');
        m.nak(1000);
      });
      this.inFlight.add(task);
      void task.finally(() => {
        this.inFlight.delete(task);
        this.keeper.release(m);
        const wake = this.slotFreed;
        this.slotFreed = undefined;
        wake?.();
      });
      // Not Promise.race over everything in flight: at full concurrency that attached a reaction to each of
      // the 256 running tasks for every job pulled, which showed as garbage and microtasks in figure A.
      while (this.inFlight.size >= this.options.concurrency) await new Promise<void>((r) => (this.slotFreed = r));
    }
  }

  /**
   * Stops pulling and waits up to `graceMs` for the handlers running. Jobs still running after it are left
   * unacked: JetStream hands them to another replica.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.messages?.stop();
    this.keeper.stop();
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(graceMs)]);
  }

  /** Resolves once the loop has ended (after stop). */
  async ended(): Promise<void> {
    await this.loop?.catch(() => {});
  }
}

function sleep(ms: number) {
  // unref: a grace period that is not needed must not keep the process alive.
  return new Promise((r) => setTimeout(r, ms).unref());
}
