import { Batcher } from '../../../shared/batcher.js';
import {
  applyDeferrals,
  applyOutcomes,
  type AttemptOutcome,
  type Deferral,
} from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import type { Logger } from '../../../shared/logger.js';

type Entry = { outcome: AttemptOutcome } | { deferral: Deferral };

/**
 * Buffers attempt outcomes and deferrals from all in-flight deliveries and writes them in multi-row
 * statements. `record` resolves only once the row is durable, which is when the caller may ack the job.
 * A failed write is retried (Postgres restarting) rather than dropped: the jobs stay unacked meanwhile.
 */
export class AttemptRecorder {
  private readonly batcher: Batcher<Entry, undefined>;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {
    this.batcher = new Batcher((entries) => this.write(entries), { maxItems: 500, maxDelayMs: 3 });
  }

  recordAttempt(outcome: AttemptOutcome): Promise<void> {
    return this.batcher.add({ outcome });
  }

  recordDeferral(deferral: Deferral): Promise<void> {
    return this.batcher.add({ deferral });
  }

  /** Writes what is buffered; later writes that fail are not retried any more. */
  async close(): Promise<void> {
    await this.batcher.drain();
    this.closed = true;
  }

  private async write(entries: Entry[]): Promise<undefined[]> {
    const outcomes: AttemptOutcome[] = [];
    const deferrals: Deferral[] = [];
    for (const e of entries) {
      if ('outcome' in e) outcomes.push(e.outcome);
      else deferrals.push(e.deferral);
    }
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await applyOutcomes(this.pool, outcomes);
        await applyDeferrals(this.pool, deferrals);
        return entries.map(() => undefined);
      } catch (err) {
        if (this.closed) throw err;
        this.logger.warn({ err, rows: entries.length, retryInMs: delay }, 'writing attempts failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
