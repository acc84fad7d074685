import { beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { ExpressRouting } from '../../services/router/express-routing.js';
import { MessageRouter } from '../../services/router/router.js';
import { SubscriptionSync } from '../../services/router/subscription-sync.js';
import { withBroker } from '../helpers/kit.js';
import type { Receiver } from '../helpers/receiver.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

// A broker with the api role only: nothing routes but what the test starts, so the router consumer trails
// exactly as far as the test publishes.
const hl = withBroker({ HOOKLINE_ROLES: 'api' });
let receiver: Receiver;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  receiver = await hl.receiver();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await hl.broker.pool.query(sql, params);
  return rows[0].n;
}

describe('express routing', () => {
  it('when the router consumer trails a burst to one topic, then a message to a quiet topic is routed at once, the burst is left to the router consumer, and routing both ways records it once', async () => {
    const { pool, nc, names } = hl.broker;
    const js = nc.jetstream();
    for (const topic of ['burst.>', 'quiet.>']) await hl.subscribe({ topic, url: receiver.url });
    const subscriptions = new SubscriptionSync(pool);
    await subscriptions.refresh();
    const express = new ExpressRouting({ js, pool, names, logger, subscriptions }, { burstPerSecond: 100, minLag: 200 });
    await express.start();
    try {
      // 1,000 messages to one topic: the first 200 are within the router consumer's reach, the rest burst.
      await hl.publishBatch('burst.orders', 1000);
      const quiet = await hl.publish('quiet.orders', { hello: 1 });

      await waitFor(
        async () => (await count(`SELECT count(*)::int AS n FROM deliveries WHERE message_id = $1`, [quiet.id])) === 1,
        'the quiet message to be routed',
        { timeoutMs: 20_000 },
      );
      await sleep(500);
      expect(await count(`SELECT count(*)::int AS n FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.topic = 'burst.orders'`)).toBe(0);
      expect(express.expressed).toBe(1);

      // The router consumer then routes everything in order, the quiet message again: still one row, one job.
      const router = new MessageRouter({ js, pool, names, logger, express: false });
      await router.start();
      try {
        await waitFor(
          async () => (await count(`SELECT count(*)::int AS n FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.topic = 'burst.orders'`)) === 1000,
          'the burst to be routed by the router consumer',
          { timeoutMs: 60_000 },
        );
        await waitFor(async () => (await js.consumers.get(names.messagesStream, names.routerConsumer).then((c) => c.info())).num_ack_pending === 0, 'the router to ack everything');
      } finally {
        await router.stop();
      }
      expect(await count(`SELECT count(*)::int AS n FROM deliveries WHERE message_id = $1`, [quiet.id])).toBe(1);
      const jsm = await nc.jetstreamManager();
      const quietSub = (await pool.query(`SELECT id FROM subscriptions WHERE topic = 'quiet.>'`)).rows[0].id as string;
      const subject = names.deliverySubject(quietSub);
      const info = await jsm.streams.info(names.deliveriesStream, { subjects_filter: subject });
      expect(info.state.subjects?.[subject]).toBe(1);
    } finally {
      await express.stop();
    }
  }, 120_000);
});
