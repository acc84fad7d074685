import { beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type JetStreamManager, type NatsConnection, type StoredMsg } from 'nats';
import { names, type Names } from '../../shared/nats/subjects.js';
import { TEST_NATS_URL } from '../helpers/isolated.js';
import { expectProblem, postBatch, postMessage, withBroker } from '../helpers/kit.js';

/**
 * Publishing through the HTTP API into the real JetStream: what a 202 promises is checked by reading the
 * stream back with our own NATS client. The broker runs with a 2 KiB payload limit so 413 is cheap to hit.
 */

const MAX_PAYLOAD = 2048;
const TENANT = 'acme';

const t = withBroker({ HOOKLINE_MAX_PAYLOAD: '2KiB' });

let nc: NatsConnection;
let jsm: JetStreamManager;
let n: Names;
let token: string;

beforeAll(async () => {
  n = names(t.prefix);
  nc = await connect({ servers: TEST_NATS_URL });
  t.onClose(() => nc.close());
  jsm = await nc.jetstreamManager();
  token = t.token('publish:orders.> publish:batch.> publish:idem.> publish:size.>', { sub: 'svc', tenant: TENANT });
});

async function streamCount(): Promise<number> {
  return (await jsm.streams.info(n.messagesStream)).state.messages;
}

async function lastSeq(): Promise<number> {
  return (await jsm.streams.info(n.messagesStream)).state.last_seq;
}

/** Every stored message with a sequence above `afterSeq`. */
async function storedAfter(afterSeq: number): Promise<StoredMsg[]> {
  const last = await lastSeq();
  const out: StoredMsg[] = [];
  for (let seq = afterSeq + 1; seq <= last; seq++) out.push(await jsm.streams.getMessage(n.messagesStream, { seq }));
  return out;
}

const text = (m: StoredMsg) => Buffer.from(m.data).toString('utf8');

describe('POST /v1/topics/:topic/messages', () => {
  it('when a JSON message is published, then 202 {id, topic, publishedAt} and the stream holds it with its headers and exact bytes', async () => {
    const before = await lastSeq();
    const payload = '{"order": 42,  "note": "h\u00e9llo", "items": [1, 2.50]}';
    const res = await postMessage(t, token, 'orders.created', payload);

    expect(res.status).toBe(202);
    expect(Object.keys(res.body).sort()).toEqual(['id', 'publishedAt', 'topic']);
    expect(res.body.id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.body.topic).toBe('orders.created');
    expect(new Date(res.body.publishedAt).toISOString()).toBe(res.body.publishedAt);
    expect(Math.abs(Date.parse(res.body.publishedAt) - Date.now())).toBeLessThan(60_000);

    const stored = await storedAfter(before);
    expect(stored).toHaveLength(1);
    const m = stored[0]!;
    expect(m.subject).toBe(`${t.prefix}.msg.${TENANT}.orders.created`);
    expect(m.subject).toBe(n.messageSubject(TENANT, 'orders.created'));
    expect(m.header.get('Hookline-Id')).toBe(res.body.id);
    expect(m.header.get('Hookline-Published-At')).toBe(res.body.publishedAt);
    expect(Buffer.from(m.data).equals(Buffer.from(payload, 'utf8'))).toBe(true);
  });

  it.each([
    ['an array', '[1, "two", {"three": 3}]'],
    ['a string', '"hello"'],
    ['a number', '12.5'],
    ['null', 'null'],
  ])('when the payload is %s, then it is accepted and stored as sent', async (_, payload) => {
    const before = await lastSeq();
    const res = await postMessage(t, token, 'orders.scalar', payload);
    expect(res.status).toBe(202);
    const [m] = await storedAfter(before);
    expect(m!.header.get('Hookline-Id')).toBe(res.body.id);
    expect(text(m!)).toBe(payload);
  });

  it('when the content type is a +json type with a charset, then it is accepted', async () => {
    const res = await postMessage(t, token, 'orders.cloud', '{"a":1}', 'application/cloudevents+json; charset=utf-8');
    expect(res.status).toBe(202);
  });

  it('when two messages are published, then they get different ids and both are stored', async () => {
    const before = await streamCount();
    const a = await postMessage(t, token, 'orders.created', '{"n":1}');
    const b = await postMessage(t, token, 'orders.created', '{"n":1}');
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(a.body.id).not.toBe(b.body.id);
    expect(await streamCount()).toBe(before + 2);
  });

  describe('Idempotency-Key', () => {
    it('when the same request is sent again with its key, then the original id comes back, Idempotent-Replayed is set and nothing new is stored', async () => {
      const key = `order-${Date.now()}`;
      const first = await postMessage(t, token, 'idem.created', '{"v":1}').set('idempotency-key', key);
      expect(first.status).toBe(202);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const count = await streamCount();

      const again = await postMessage(t, token, 'idem.created', '{"v":1}').set('idempotency-key', key);
      expect(again.status).toBe(202);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await streamCount()).toBe(count);

      const stored = await jsm.streams.getMessage(n.messagesStream, {
        last_by_subj: n.messageSubject(TENANT, 'idem.created'),
      });
      expect(stored.header.get('Hookline-Id')).toBe(first.body.id);
      expect(text(stored)).toBe('{"v":1}');
    });

    it('when a different key is sent, then it is a new message', async () => {
      const a = await postMessage(t, token, 'idem.created', '{}').set('idempotency-key', `a-${Date.now()}`);
      const count = await streamCount();
      const b = await postMessage(t, token, 'idem.created', '{}').set('idempotency-key', `b-${Date.now()}`);
      expect(b.status).toBe(202);
      expect(b.body.id).not.toBe(a.body.id);
      expect(b.headers['idempotent-replayed']).toBeUndefined();
      expect(await streamCount()).toBe(count + 1);
    });

    it('when the same key is used on another topic, then it is a separate message', async () => {
      const key = `shared-${Date.now()}`;
      const a = await postMessage(t, token, 'idem.one', '{}').set('idempotency-key', key);
      const b = await postMessage(t, token, 'idem.two', '{}').set('idempotency-key', key);
      expect(a.status).toBe(202);
      expect(b.status).toBe(202);
      expect(b.body.id).not.toBe(a.body.id);
    });

    it.each([
      ['too long', 'k'.repeat(256)],
      ['with a space', 'has space'],
      ['non-ASCII', 'cl\u00e9'],
    ])('when the key is %s, then 400 and nothing is stored', async (_, key) => {
      const count = await streamCount();
      const res = await postMessage(t, token, 'idem.created', '{}').set('idempotency-key', key);
      expectProblem(res, 400);
      expect(await streamCount()).toBe(count);
    });
  });

  describe('bad input changes nothing', () => {
    it.each([
      ['an empty token', 'orders..created'],
      ['a leading dot', '.orders'],
      ['a trailing dot', 'orders.'],
      ['a space', 'orders.cre ated'],
      ['a bad character', 'orders.cr$ated'],
      ['a slash', 'orders/created'],
      ['the wildcard *', 'orders.*'],
      ['the wildcard > (last)', 'orders.>'],
      ['a bare *', '*'],
      ['a bare >', '>'],
      ['256 characters', `orders.${'x'.repeat(249)}`],
    ])('when the topic has %s, then 400 topic.invalid', async (_, topic) => {
      const count = await streamCount();
      const res = await postMessage(t, token, topic, '{"a":1}');
      const problem = expectProblem(res, 400, 'topic.invalid');
      expect(problem.detail).toContain('topic');
      expect(await streamCount()).toBe(count);
    });

    it.each([
      ['truncated', '{"a":'],
      ['a bare word', 'hello'],
      ['two values', '{} {}'],
      ['a trailing comma', '{"a":1,}'],
    ])('when the body is malformed JSON (%s), then 400', async (_, body) => {
      const count = await streamCount();
      const res = await postMessage(t, token, 'orders.created', body);
      expectProblem(res, 400, 'request.malformed_json');
      expect(await streamCount()).toBe(count);
    });

    it('when the body is not valid UTF-8, then 400 rather than storing altered bytes', async () => {
      const count = await streamCount();
      const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const res = await t
        .http()
        .post('/v1/topics/orders.created/messages')
        .set('authorization', `Bearer ${token}`)
        .set('content-type', 'application/json')
        // Sent as the raw bytes (superagent would otherwise JSON-encode a Buffer).
        .serialize((b: Buffer) => b as unknown as string)
        .send(body);
      expectProblem(res, 400, 'request.malformed_json');
      expect(await streamCount()).toBe(count);
    });

    it('when the body is empty, then 400', async () => {
      const count = await streamCount();
      expectProblem(await postMessage(t, token, 'orders.created', ''), 400);
      expect(await streamCount()).toBe(count);
    });

    it('when the payload is exactly HOOKLINE_MAX_PAYLOAD bytes, then it is accepted', async () => {
      const body = JSON.stringify({ pad: 'x'.repeat(MAX_PAYLOAD - 10) });
      expect(Buffer.byteLength(body)).toBe(MAX_PAYLOAD);
      expect((await postMessage(t, token, 'size.ok', body)).status).toBe(202);
    });

    it('when the payload is over HOOKLINE_MAX_PAYLOAD, then 413 and nothing is stored', async () => {
      const count = await streamCount();
      const body = JSON.stringify({ pad: 'x'.repeat(MAX_PAYLOAD - 9) });
      expect(Buffer.byteLength(body)).toBe(MAX_PAYLOAD + 1);
      const problem = expectProblem(await postMessage(t, token, 'size.big', body), 413);
      expect(problem.detail).toContain(String(MAX_PAYLOAD));
      expect(await streamCount()).toBe(count);
    });

    it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/jsonx']])(
      'when the content type is %s, then 415 and nothing is stored',
      async (type) => {
        const count = await streamCount();
        expectProblem(await postMessage(t, token, 'orders.created', '{"a":1}', type), 415);
        expect(await streamCount()).toBe(count);
      },
    );

    it('when there is no content type, then 415', async () => {
      const count = await streamCount();
      const res = await t
        .http()
        .post('/v1/topics/orders.created/messages')
        .set('authorization', `Bearer ${token}`)
        .send(Buffer.from('{"a":1}'))
        .unset('content-type');
      expectProblem(res, 415);
      expect(await streamCount()).toBe(count);
    });
  });
});

describe('POST /v1/topics/:topic/batch', () => {
  it('when a batch is published, then 202 lists one id per message in order and each is stored with its payload', async () => {
    const before = await lastSeq();
    const messages = [{ n: 0, s: 'zero' }, [1], 'two', 3, null, { n: 5 }];
    const res = await postBatch(t, token, 'batch.created', { messages });
    expect(res.status).toBe(202);
    expect(res.body.ids).toHaveLength(messages.length);
    expect(new Set(res.body.ids).size).toBe(messages.length);
    for (const id of res.body.ids) expect(id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);

    const stored = await storedAfter(before);
    expect(stored).toHaveLength(messages.length);
    const byId = new Map(stored.map((m) => [m.header.get('Hookline-Id'), m]));
    (res.body.ids as string[]).forEach((id, i) => {
      const m = byId.get(id);
      expect(m).toBeDefined();
      expect(m!.subject).toBe(n.messageSubject(TENANT, 'batch.created'));
      expect(JSON.parse(text(m!))).toEqual(messages[i]);
      expect(m!.header.get('Hookline-Published-At')).toBeTruthy();
    });
  });

  it('when a batch holds exactly 1000 messages, then all are stored', async () => {
    const count = await streamCount();
    const res = await postBatch(t, token, 'batch.max', { messages: Array.from({ length: 1000 }, (_, i) => i) });
    expect(res.status).toBe(202);
    expect(res.body.ids).toHaveLength(1000);
    expect(await streamCount()).toBe(count + 1000);
  });

  it('when the same batch is sent again with its Idempotency-Key, then the same ids come back and nothing new is stored', async () => {
    const key = `batch-${Date.now()}`;
    const first = await postBatch(t, token, 'batch.idem', { messages: [{ a: 1 }, { a: 2 }] }).set('idempotency-key', key);
    expect(first.status).toBe(202);
    const count = await streamCount();
    const again = await postBatch(t, token, 'batch.idem', { messages: [{ a: 1 }, { a: 2 }] }).set('idempotency-key', key);
    expect(again.status).toBe(202);
    expect(again.body.ids).toEqual(first.body.ids);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await streamCount()).toBe(count);
  });

  describe('bad input changes nothing', () => {
    it.each([
      ['an empty list', { messages: [] }],
      ['1001 messages', { messages: Array.from({ length: 1001 }, () => 1) }],
      ['an unknown field', { messages: [1], extra: true }],
      ['no messages field', { items: [1] }],
      ['messages that is not a list', { messages: { a: 1 } }],
      ['a list at the top level', [1, 2]],
    ])('when the batch has %s, then 400', async (_, body) => {
      const count = await streamCount();
      expectProblem(await postBatch(t, token, 'batch.bad', body), 400);
      expect(await streamCount()).toBe(count);
    });

    it('when the batch has an unknown field, then the problem says what the body must be', async () => {
      const problem = expectProblem(await postBatch(t, token, 'batch.bad', { messages: [1], extra: true }), 400);
      expect(problem.detail).toContain('messages');
    });

    it('when the batch is malformed JSON, then 400', async () => {
      const count = await streamCount();
      expectProblem(await postBatch(t, token, 'batch.bad', '{"messages": [1,'), 400, 'request.malformed_json');
      expect(await streamCount()).toBe(count);
    });

    it('when the batch topic is a wildcard, then 400 topic.invalid', async () => {
      const count = await streamCount();
      expectProblem(await postBatch(t, token, 'batch.*', { messages: [1] }), 400, 'topic.invalid');
      expect(await streamCount()).toBe(count);
    });

    it('when one message of a batch is over HOOKLINE_MAX_PAYLOAD, then 413 naming it and none of the batch is stored', async () => {
      const count = await streamCount();
      const res = await postBatch(t, token, 'batch.big', { messages: [{ ok: 1 }, { pad: 'x'.repeat(MAX_PAYLOAD) }, { ok: 3 }] });
      const problem = expectProblem(res, 413);
      expect(problem.detail).toContain('messages[1]');
      expect(await streamCount()).toBe(count);
    });

    it.each([['text/plain'], ['application/octet-stream']])(
      'when the batch content type is %s, then 415',
      async (type) => {
        const count = await streamCount();
        expectProblem(await postBatch(t, token, 'batch.created', { messages: [1] }, type), 415);
        expect(await streamCount()).toBe(count);
      },
    );

    it('when the batch is not JSON and not sent as JSON, then 415 (the media type is judged first)', async () => {
      const count = await streamCount();
      expectProblem(await postBatch(t, token, 'batch.created', 'hello world', 'text/plain'), 415);
      expect(await streamCount()).toBe(count);
    });
  });
});
