/**
 * A broker left running with a very short log retention (one-second partitions kept three seconds: set after
 * validation, as no environment may ask for a retention shorter than the message retention) drops old
 * partitions on its own and keeps serving; a delivery that is not settled keeps its partition until it is.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readLogPartitions } from '../../shared/db/log-partitions.js';
import type { Receiver } from '../helpers/receiver.js';
import { sleep, waitFor } from '../helpers/wait-for.js';
import { withBroker } from '../helpers/kit.js';

const RETENTION_S = 3;
const hl = withBroker({ HOOKLINE_LOG_PARTITION_S: '1' }, { config: { HOOKLINE_LOG_RETENTION_DAYS: RETENTION_S / 86_400 } });

let receiver: Receiver;

beforeAll(async () => {
  receiver = await hl.receiver();
});

async function settled(messageId: string) {
  return waitFor(async () => {
    const r = await hl.http().get(`/v1/messages/${messageId}`).set(hl.auth);
    return r.status === 200 && r.body.settled === true ? r.body : undefined;
  }, `message ${messageId} settled`);
}

async function partitionCount(table: string): Promise<number> {
  const { rows } = await hl.db.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = $1::regclass`, [table]);
  return rows[0].n;
}

describe('a broker with a short log retention', () => {
  it('when its partitions expire, then the broker drops them on its own and goes on delivering', async () => {
    await hl.subscribe({ topic: 'retained.*', url: `${receiver.url}/hook` });
    const first = (await hl.publish('retained.a', { n: 1 })).id;
    expect((await settled(first)).deliveries[0].status).toBe('succeeded');

    // Gone from the API once its partitions are dropped: the message, its delivery and the attempts.
    const { rows } = await hl.db.query('SELECT id FROM deliveries WHERE message_id = $1', [first]);
    const deliveryId = rows[0].id as string;
    await waitFor(async () => (await hl.http().get(`/v1/messages/${first}`).set(hl.auth)).status === 404, 'the message to expire', {
      timeoutMs: 20_000,
    });
    expect((await hl.http().get(`/v1/deliveries/${deliveryId}`).set(hl.auth)).status).toBe(404);
    expect((await hl.db.query('SELECT count(*)::int AS n FROM attempts WHERE delivery_id = $1', [deliveryId])).rows[0].n).toBe(0);

    // Old partitions keep going while new ones come: none is much older than the retention (a few seconds'
    // slack for a pass that met a lock), and the count stays near retention + what is made ahead.
    const oldest = Math.min(...(await readLogPartitions(hl.db)).map((p) => p.toMs));
    expect(oldest).toBeGreaterThan(Date.now() - (RETENTION_S + 5) * 1000);
    for (const t of ['messages', 'deliveries', 'attempts']) expect(await partitionCount(t)).toBeLessThanOrEqual(RETENTION_S + 10);

    const second = (await hl.publish('retained.b', { n: 2 })).id;
    expect((await settled(second)).deliveries[0].status).toBe('succeeded');
    expect(receiver.requests.map((r) => JSON.parse(r.body).data.n)).toEqual(expect.arrayContaining([1, 2]));
  }, 40_000);

  it('when a delivery is still pending at the cut-off, then its partition is kept until the delivery settles', async () => {
    const sub = await hl.subscribe({ topic: 'held.*', url: `${receiver.url}/hook` });
    expect((await hl.http().post(`/v1/subscriptions/${sub.id}/pause`).set(hl.auth)).status).toBe(200);
    const held = (await hl.publish('held.a', { n: 3 })).id;
    await waitFor(async () => {
      const r = await hl.http().get(`/v1/messages/${held}`).set(hl.auth);
      return r.status === 200 && r.body.deliveries.length === 1;
    }, 'the paused delivery recorded');

    // Well past its partition's expiry the parked delivery, its message and the partitions are all still there.
    await sleep((RETENTION_S + 3) * 1000);
    const kept = await hl.http().get(`/v1/messages/${held}`).set(hl.auth);
    expect(kept.status).toBe(200);
    expect(kept.body.deliveries[0].status).toBe('pending');
    // …and /metrics shows the expired partitions it holds (its deliveries partition, with those of its range).
    const metrics = (await hl.http().get('/metrics')).text;
    expect(Number(/^hookline_log_partitions_expired\{table="deliveries"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    // Resumed, it is delivered; settled, its partition expires like any other.
    expect((await hl.http().post(`/v1/subscriptions/${sub.id}/resume`).set(hl.auth)).status).toBe(200);
    await waitFor(() => receiver.requests.find((r) => r.headers['webhook-id'] === held), 'the held message delivered');
    await waitFor(async () => (await hl.http().get(`/v1/messages/${held}`).set(hl.auth)).status === 404, 'the settled partition dropped', {
      timeoutMs: 20_000,
    });
  }, 60_000);
});
