import type { JetStreamClient, JetStreamManager } from 'nats';
import { z } from 'zod';
import type { DeliveryStatus, NewDelivery } from '../../../shared/db/deliveries.js';
import type { Pool } from '../../../shared/db/pool.js';
import {
  createDueDeliveries,
  findReplayCandidates,
  RESENDABLE,
  resendDeliveries,
  type ReplayCandidate,
} from '../../../shared/db/redelivery.js';
import type { SubscriptionRecord } from '../../../shared/db/subscriptions.js';
import { ValidationError } from '../../../shared/errors.js';
import { compileStoredFilter } from '../../../shared/filter.js';
import { deliveryId } from '../../../shared/ids.js';
import type { MessageStore } from '../../../shared/nats/message-store.js';
import type { Names } from '../../../shared/nats/subjects.js';
import { isValidPattern, topicMatches } from '../../../shared/topics.js';
import { count, instant } from '../http/view-fields.js';

/** Most messages one replay call covers. */
export const MAX_REPLAY_MESSAGES = 100_000;
/** Longest replay window. */
export const MAX_REPLAY_WINDOW_MS = 31 * 24 * 3600_000;
/** Payloads read at once from the stream while a filter is evaluated. */
const READ_CONCURRENCY = 16;
/** Rows per statement when deliveries are created or re-sent. */
const WRITE_CHUNK = 5000;

export interface ReplayDeps {
  pool: Pool;
  js: JetStreamClient;
  names: Names;
  messages: MessageStore;
}

/** What to replay. */
export interface ReplayRequest {
  since: Date;
  until: Date;
  /** Only messages whose delivery is in this state (it exists then); absent: every matching message. */
  status?: DeliveryStatus;
  dryRun: boolean;
}

/** The answer of `POST /v1/subscriptions/:id/replay`: what it did (or would do) over which window. */
export const replayAnswerSchema = z.object({
  dryRun: z.boolean(),
  count: count('Messages (to be) sent again: created + resent.').max(MAX_REPLAY_MESSAGES),
  created: count('Deliveries created for messages the subscription never had one for.'),
  resent: count('Existing deliveries made due again.'),
  alreadyPending: count('Matching messages already on their way (not sent twice).'),
  notRetained: count('Matching messages the stream no longer holds.'),
  since: instant(),
  until: instant(),
});

/** What a replay did (or, with dryRun, would do). */
export interface ReplayResult {
  dryRun: boolean;
  /** Messages sent again: created + resent. */
  count: number;
  /** Messages the subscription had no delivery for (published before it existed, filtered out then, …). */
  created: number;
  /** Existing deliveries (failed, succeeded or dead) made due again. */
  resent: number;
  /** Matching messages whose delivery is still pending: already on its way, not sent twice. */
  alreadyPending: number;
  /** Matching messages whose payload the stream no longer retains: they cannot be sent. */
  notRetained: number;
}

/**
 * A POSIX regular expression (Postgres `~`) equivalent to a topic pattern: `*` is one token, a final `>`
 * one or more. Tokens are `[A-Za-z0-9_-]`, so nothing else needs escaping beyond `-`, which is literal
 * outside brackets anyway.
 */
export function patternRegex(pattern: string): string {
  if (!isValidPattern(pattern)) throw new ValidationError('pattern.invalid', `"${pattern}" is not a topic pattern`);
  const parts = pattern.split('.').map((t) => (t === '*' ? '[^.]+' : t === '>' ? '.+' : t));
  return `^${parts.join('\\.')}$`;
}

async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The first sequence the MESSAGES stream still holds; everything below it was removed by retention.
 * Asked of the stream itself, not the message cache, which may still hold a payload retention dropped.
 */
export async function firstRetainedSeq(deps: Pick<ReplayDeps, 'js' | 'names'>): Promise<number> {
  const jsm: JetStreamManager = await deps.js.jetstreamManager();
  const info = await jsm.streams.info(deps.names.messagesStream);
  // An empty stream reports first_seq = last_seq + 1, which excludes everything: right.
  return info.state.first_seq;
}

/**
 * Sends a subscription's messages of a time window again, from the retained stream. Candidates are the
 * tenant's messages published in [since, until) (the `messages` table, in publish order) whose topic
 * matches the subscription's pattern and whose payload matches its filter as they are now. Without
 * `status`, each gets a delivery: one is created where the subscription never had one, existing ones
 * are made due again (a pending one is left alone: it is already on its way); with `status`, only
 * existing deliveries in that state are. Nothing is sent here: deliveries become due now and the
 * dispatchers' scheduler enqueues them, so a replay of 100,000 messages is throttled like any backlog.
 * @throws ValidationError `replay.too_many` when the window holds more than {@link MAX_REPLAY_MESSAGES}
 * candidate messages (nothing is done: narrow the window).
 */
export async function replaySubscription(deps: ReplayDeps, sub: SubscriptionRecord, req: ReplayRequest): Promise<ReplayResult> {
  const rows = await findReplayCandidates(deps.pool, {
    tenant: sub.tenant,
    subscriptionId: sub.id,
    topicRegex: patternRegex(sub.topic),
    since: req.since,
    until: req.until,
    status: req.status,
    limit: MAX_REPLAY_MESSAGES + 1,
  });
  if (rows.length > MAX_REPLAY_MESSAGES) {
    throw new ValidationError(
      'replay.too_many',
      `The window holds more than ${MAX_REPLAY_MESSAGES} messages for this subscription; a replay covers at most ` +
        `${MAX_REPLAY_MESSAGES} per call. Narrow since/until and replay the rest in further calls.`,
      { extensions: { limit: MAX_REPLAY_MESSAGES } },
    );
  }
  const firstSeq = rows.length ? await firstRetainedSeq(deps) : 0;
  let notRetained = 0;
  let candidates: ReplayCandidate[] = [];
  for (const r of rows) {
    // The regex did the work; topicMatches is the reference definition, kept as a guard.
    if (!topicMatches(sub.topic, r.topic)) continue;
    if (r.streamSeq < firstSeq) notRetained++;
    else candidates.push(r);
  }
  const matches = compileStoredFilter(sub.filter);
  if (matches) {
    const verdicts = await mapBounded(candidates, READ_CONCURRENCY, async (c) => {
      const msg = await deps.messages.get(c.streamSeq);
      if (!msg || msg.id !== c.messageId) return 'gone' as const;
      let payload: unknown;
      try {
        payload = JSON.parse(msg.data);
      } catch {
        return false;
      }
      return matches(payload);
    });
    notRetained += verdicts.filter((v) => v === 'gone').length;
    candidates = candidates.filter((_, i) => verdicts[i] === true);
  }

  const toCreate: NewDelivery[] = [];
  const toResend: string[] = [];
  let alreadyPending = 0;
  for (const c of candidates) {
    if (c.deliveryId === null) {
      toCreate.push({
        id: deliveryId(c.messageId, sub.id),
        messageId: c.messageId,
        subscriptionId: sub.id,
        tenant: sub.tenant,
        streamSeq: c.streamSeq,
      });
    } else if (c.deliveryStatus === 'pending') {
      alreadyPending++;
    } else {
      toResend.push(c.deliveryId);
    }
  }
  if (req.dryRun) {
    return {
      dryRun: true,
      count: toCreate.length + toResend.length,
      created: toCreate.length,
      resent: toResend.length,
      alreadyPending,
      notRetained,
    };
  }
  let created = 0;
  let resent = 0;
  for (const part of chunks(toCreate, WRITE_CHUNK)) created += await createDueDeliveries(deps.pool, part);
  const from = req.status ? [req.status] : RESENDABLE;
  for (const part of chunks(toResend, WRITE_CHUNK)) resent += await resendDeliveries(deps.pool, sub.id, part, from);
  return { dryRun: false, count: created + resent, created, resent, alreadyPending, notRetained };
}
