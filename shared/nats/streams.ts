import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from 'nats';
import type { Names } from './subjects.js';

/** Stream settings taken from configuration. */
export interface StreamOptions {
  /** JetStream replicas per stream; 3 on a clustered JetStream. @default 1 */
  replicas: number;
  /** How long published messages stay retained (replay, poll, stream resume, retries). */
  retentionHours: number;
  /** The window in which a repeated `Idempotency-Key` / `Nats-Msg-Id` is recognised. */
  duplicateWindowS: number;
  /**
   * How long a router or dispatcher may hold a message unacked before JetStream hands it to another
   * replica: how quickly the work of a crashed process is taken over. Dispatchers extend it for
   * deliveries still running (`working()`).
   */
  ackWaitS: number;
}

function isNotFound(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; code?: string };
  return e.api_error?.err_code === 10059 || e.api_error?.err_code === 10014 || e.code === '404';
}

async function upsertStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    const info = await jsm.streams.info(config.name);
    // Retention and storage cannot change on a live stream; everything else is updated in place.
    const { retention: _r, storage: _s, ...mutable } = config;
    const current = info.config;
    const drift = Object.entries(mutable).some(
      ([k, v]) => JSON.stringify((current as unknown as Record<string, unknown>)[k]) !== JSON.stringify(v),
    );
    if (drift) await jsm.streams.update(config.name, { ...current, ...mutable });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(config);
  }
}

async function upsertConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }) {
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    // The durable exists with other settings (a changed ack wait): update the editable fields in place.
    const { ack_wait, max_ack_pending, max_deliver } = config;
    await jsm.consumers.update(stream, config.durable_name, { ack_wait, max_ack_pending, max_deliver }).catch(() => {
      throw err;
    });
  }
}

/** Creates or updates the MESSAGES and DELIVERIES streams and the router, express router and dispatcher consumers. */
export async function ensureStreams(jsm: JetStreamManager, n: Names, opts: StreamOptions): Promise<void> {
  await upsertStream(jsm, {
    name: n.messagesStream,
    subjects: [n.messagesAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: opts.replicas,
    max_age: nanos(opts.retentionHours * 3600_000),
    duplicate_window: nanos(opts.duplicateWindowS * 1000),
    discard: DiscardPolicy.Old,
    allow_direct: true,
  });
  await upsertStream(jsm, {
    name: n.deliveriesStream,
    subjects: [n.deliveriesAll],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: opts.replicas,
    // A message routed again (router crash before its ack) re-publishes jobs "<deliveryId>:1"; the window
    // must outlast the router's ack wait so they are recognised as duplicates.
    duplicate_window: nanos(Math.max(120_000, opts.ackWaitS * 4000)),
    discard: DiscardPolicy.Old,
  });
  await upsertConsumer(jsm, n.messagesStream, {
    durable_name: n.routerConsumer,
    filter_subject: n.messagesAll,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(opts.ackWaitS * 1000),
    max_ack_pending: 4096,
    max_deliver: -1,
  });
  // Express routing's view of MESSAGES: from the newest message on (it only ever helps with what is being
  // published now), each message handed out once and never again (the router consumer routes them all).
  await upsertConsumer(jsm, n.messagesStream, {
    durable_name: n.expressRouterConsumer,
    filter_subject: n.messagesAll,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    ack_wait: nanos(opts.ackWaitS * 1000),
    max_ack_pending: 4096,
    max_deliver: 1,
  });
  await upsertConsumer(jsm, n.deliveriesStream, {
    durable_name: n.dispatcherConsumer,
    filter_subject: n.deliveriesAll,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(opts.ackWaitS * 1000),
    max_ack_pending: 20_000,
    max_deliver: -1,
  });
}

/**
 * JetStream API errors that say "not now" rather than "no": a request that timed out, nobody answering yet,
 * or a cluster still electing its meta leader or placing a replicated stream.
 */
function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string; api_error?: { err_code?: number } };
  if (e?.code === 'TIMEOUT' || e?.code === '503') return true;
  if (e?.api_error?.err_code === 10008) return true; // JetStream system temporarily unavailable
  return /temporarily unavailable|not (yet )?ready|no suitable peers|insufficient resources/i.test(e?.message ?? '');
}

/**
 * {@link ensureStreams}, tried again for a while when JetStream answers "not now": every process of a rollout
 * creates the same streams and consumers at once, and a cluster that is forming (or has just lost a node)
 * times some of those requests out. Exiting then would turn a busy minute into a crash loop.
 */
export async function ensureStreamsPatiently(
  jsm: JetStreamManager,
  n: Names,
  opts: StreamOptions,
  retry: { withinMs: number; onRetry: (err: unknown, attempt: number) => void },
): Promise<void> {
  const deadline = Date.now() + retry.withinMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureStreams(jsm, n, opts);
    } catch (err) {
      if (!isTransient(err) || Date.now() >= deadline) throw err;
      retry.onRetry(err, attempt);
      // Full jitter, so the processes of a rollout do not come back in step.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(5000, 250 * 2 ** attempt)));
    }
  }
}
