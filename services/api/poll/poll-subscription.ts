import type { JetStreamManager } from 'nats';
import type { PoolClient } from 'pg';
import { z } from 'zod';
import { updateSubscription, type SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { UnavailableError, ValidationError } from '../../../shared/errors.js';
import { instant } from '../http/view-fields.js';
import { realCalendarDate } from '../http/validate.js';
import type { Logger } from '../../../shared/logger.js';
import type { Names } from '../../../shared/nats/subjects.js';
import {
  createPollConsumer,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_POLL_MAX_ATTEMPTS,
  deletePollConsumer,
  lastStreamSeq,
  pollOptions,
  updatePollConsumer,
  type PollConsumerSpec,
} from './poll-consumer.js';

/**
 * The poll-subscription side of creating, changing and deleting subscriptions: request fields, and the
 * JetStream consumer kept in step with the row. The consumer is created, changed or deleted inside the
 * subscription's write transaction, before it commits: if NATS refuses, the transaction rolls back and
 * nothing changed; if the commit fails after NATS said yes, {@link PollConsumerChanges.undo} reverses the
 * consumer. Either way no row lacks its consumer and no consumer outlives its row.
 */

export const POLL_LIMITS = Object.freeze({
  ackTimeoutMs: { min: 1_000, max: 12 * 3600_000 },
  maxAttempts: { min: 1, max: 100 },
  expireAfterIdleMs: { min: 5_000, max: 7 * 24 * 3600_000 },
});

/** Schema members for the create and PATCH bodies. */
export const pollFields = {
  ackTimeoutMs: z.number().int().min(POLL_LIMITS.ackTimeoutMs.min).max(POLL_LIMITS.ackTimeoutMs.max),
  maxAttempts: z.number().int().min(POLL_LIMITS.maxAttempts.min).max(POLL_LIMITS.maxAttempts.max),
};

/**
 * `since` starts the subscription in the retained past (a stream sequence to start after, or a publish time).
 * `expireAfterIdleMs` is set at creation only: a subscription for one session (`hookline listen`) that
 * deletes itself once nobody has polled it for that long, so a client that dies leaves nothing behind.
 */
export const pollCreateFields = {
  ackTimeoutMs: pollFields.ackTimeoutMs.optional(),
  maxAttempts: pollFields.maxAttempts.optional(),
  expireAfterIdleMs: z
    .number()
    .int()
    .min(POLL_LIMITS.expireAfterIdleMs.min)
    .max(POLL_LIMITS.expireAfterIdleMs.max)
    .optional()
    .meta({
      description:
        'Poll: a session subscription, deleted with its cursor once nobody has polled it for this long (`hookline listen` sets it).',
    }),
  since: z
    .union([
      z.number().int().min(0),
      z
        .string()
        .refine((v) => /^\d{4}-\d{2}-\d{2}T/.test(v) && realCalendarDate(v) && !Number.isNaN(Date.parse(v)), 'must be an ISO date-time')
        .meta({ format: 'date-time' }),
    ])
    .optional()
    .meta({
      description:
        'Poll: start with the retained messages after this stream sequence, or published at or after this time, instead of from now on.',
    }),
};

export interface PollFieldValues {
  ackTimeoutMs?: number;
  maxAttempts?: number;
  expireAfterIdleMs?: number;
  /** Create only: start after this stream sequence, or at this publish time, instead of from now on. */
  since?: number | string;
}

/** ackTimeoutMs, maxAttempts, expireAfterIdleMs and since apply to poll subscriptions only. */
export function assertPollFields(type: string, body: PollFieldValues): void {
  if (type === 'poll') return;
  const given = (['ackTimeoutMs', 'maxAttempts', 'expireAfterIdleMs', 'since'] as const).filter((k) => body[k] !== undefined);
  if (given.length) {
    throw new ValidationError('subscription.invalid', `${given.join(', ')} apply to poll subscriptions only.`);
  }
}

/** The view members of a poll subscription. */
export const pollViewFields = {
  ackTimeoutMs: pollFields.ackTimeoutMs.meta({ description: 'How long a handed-out message waits for its ack before it is handed out again.' }),
  maxAttempts: pollFields.maxAttempts.meta({ description: 'Hand-outs of one message before it is dropped.' }),
  expireAfterIdleMs: z.number().int().optional().meta({ description: 'Session subscriptions: deleted once not polled for this long.' }),
  expiresAt: instant('Session subscriptions: when it is deleted unless polled before; each poll moves it.').optional(),
};

export function pollFieldsView(s: SubscriptionRecord): z.output<z.ZodObject<typeof pollViewFields>> {
  const o = pollOptions(s);
  return {
    ackTimeoutMs: o.ackTimeoutMs,
    maxAttempts: o.maxAttempts,
    ...(o.expireAfterIdleMs ? { expireAfterIdleMs: o.expireAfterIdleMs, expiresAt: o.expiresAt } : {}),
  };
}

function spec(s: SubscriptionRecord): PollConsumerSpec {
  return { id: s.id, tenant: s.tenant, topic: s.topic, ordered: s.ordered, ackTimeoutMs: pollOptions(s).ackTimeoutMs };
}

function unavailable(err: unknown): UnavailableError {
  return new UnavailableError(
    'subscription.consumer_unavailable',
    'The message store could not set up the poll subscription\'s consumer; nothing was changed. Retry.',
    { cause: err },
  );
}

/** Consumer work done inside one subscription write, and its undo should the write not commit. */
export class PollConsumerChanges {
  private undoStep: (() => Promise<void>) | undefined;

  constructor(private readonly deps: { jsm: JetStreamManager; names: Names; logger: Logger }) {}

  /** A new poll subscription's consumer; stores its options (with `startSeq`) on the row. */
  async create(db: PoolClient, created: SubscriptionRecord, body: PollFieldValues): Promise<SubscriptionRecord> {
    const ackTimeoutMs = body.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    const maxAttempts = body.maxAttempts ?? DEFAULT_POLL_MAX_ATTEMPTS;
    let startSeq: number;
    try {
      const since = body.since === undefined ? undefined : typeof body.since === 'number' ? body.since : new Date(body.since);
      startSeq = await createPollConsumer(this.deps.jsm, this.deps.names, { ...spec(created), ackTimeoutMs }, since);
    } catch (err) {
      throw unavailable(err);
    }
    this.undoStep = () => deletePollConsumer(this.deps.jsm, this.deps.names, created.id);
    const expiry = body.expireAfterIdleMs
      ? { expireAfterIdleMs: body.expireAfterIdleMs, expiresAt: new Date(Date.now() + body.expireAfterIdleMs).toISOString() }
      : {};
    const row = await updateSubscription(db, created.tenant, created.id, {
      options: { ...created.options, ackTimeoutMs, maxAttempts, startSeq, ...expiry },
    });
    return row ?? created;
  }

  /**
   * Options to store for a PATCH of a poll subscription (`options` with the new ack timeout and
   * attempts), or undefined when the body changes neither.
   */
  static patchedOptions(options: Record<string, unknown>, body: PollFieldValues): Record<string, unknown> | undefined {
    if (body.ackTimeoutMs === undefined && body.maxAttempts === undefined) return undefined;
    return {
      ...options,
      ...(body.ackTimeoutMs !== undefined ? { ackTimeoutMs: body.ackTimeoutMs } : {}),
      ...(body.maxAttempts !== undefined ? { maxAttempts: body.maxAttempts } : {}),
    };
  }

  /**
   * Brings the consumer in step with a changed row (pattern, ordering, ack timeout); its cursor stays.
   * A new pattern owes only messages published from now on, so `startSeq` moves to the stream's end.
   */
  async update(db: PoolClient, before: SubscriptionRecord, after: SubscriptionRecord): Promise<SubscriptionRecord> {
    const a = spec(after);
    const b = spec(before);
    if (a.topic === b.topic && a.ordered === b.ordered && a.ackTimeoutMs === b.ackTimeoutMs) return after;
    try {
      await updatePollConsumer(this.deps.jsm, this.deps.names, a);
    } catch (err) {
      throw unavailable(err);
    }
    this.undoStep = () => updatePollConsumer(this.deps.jsm, this.deps.names, b);
    if (a.topic === b.topic) return after;
    const startSeq = await lastStreamSeq(this.deps.jsm, this.deps.names);
    const row = await updateSubscription(db, after.tenant, after.id, { options: { ...after.options, startSeq } });
    return row ?? after;
  }

  /** Deletes the consumer of a poll subscription being deleted (one already gone counts as deleted). */
  async delete(sub: SubscriptionRecord): Promise<void> {
    if (sub.type !== 'poll') return;
    try {
      await deletePollConsumer(this.deps.jsm, this.deps.names, sub.id);
    } catch (err) {
      throw unavailable(err);
    }
    // A deleted consumer cannot be brought back with its cursor: if the commit fails, the next poll
    // recreates it from the subscription's start (fetch-messages.ts).
  }

  /** For `.catch` on the write: reverses the consumer work if the transaction did not commit, rethrows. */
  readonly undo = async (err: unknown): Promise<never> => {
    const step = this.undoStep;
    this.undoStep = undefined;
    if (step) {
      await step().catch((undoErr) =>
        this.deps.logger.error({ err: undoErr }, 'could not undo a poll consumer change after a failed subscription write'),
      );
    }
    throw err;
  };
}
