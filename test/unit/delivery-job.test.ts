import { describe, expect, it } from '@jest/globals';
import { decodeJob, encodeJob, firstAttemptJob, jobMsgId, nextAttemptJob, type DeliveryJob } from '../../shared/delivery-job.js';
import { deliveryId, newId } from '../../shared/ids.js';

const job: DeliveryJob = { deliveryId: 'dlv_1', subscriptionId: 'sub_1', messageId: 'msg_1', streamSeq: 42, attempt: 1 };
const encoder = new TextEncoder();

describe('delivery jobs', () => {
  it('when a job carries no message, then it decodes to the same ids and no message', () => {
    expect(decodeJob(encodeJob(job))).toEqual({ job });
  });

  it('when a job carries its message, then the payload comes back byte for byte, newlines and all', () => {
    const data = '{"text":"line one\\nline two","n":[1,2],"s":"é ✓"}\n';
    const decoded = decodeJob(encodeJob(job, { tenant: 't', topic: 'orders.created', publishedAt: '2026-11-25T10:00:00.000Z', data: encoder.encode(data) }));
    expect(decoded).toEqual({ job, message: { tenant: 't', topic: 'orders.created', publishedAt: '2026-11-25T10:00:00.000Z', data } });
  });

  it('when a job queued before the partitioned log names its delivery by the old id, then it decodes to the current id', () => {
    const m = newId('msg');
    const s = newId('sub');
    const current = deliveryId(m, s);
    // The old form: dlv_ + 26 hash characters, of which the current id keeps the first 16 after the message time.
    const old = `dlv_${current.slice(14)}0123456789`;
    const ids = { subscriptionId: s, messageId: m, streamSeq: 7, attempt: 2 };
    expect(decodeJob(encodeJob({ deliveryId: old, ...ids }))?.job.deliveryId).toBe(current);
    expect(decodeJob(encodeJob({ deliveryId: current, ...ids }))?.job.deliveryId).toBe(current);
  });

  it('when the bytes are not a job, then nothing is decoded', () => {
    expect(decodeJob(encoder.encode('not json'))).toBeUndefined();
    expect(decodeJob(encoder.encode('{"d":"x"}'))).toBeUndefined();
    expect(decodeJob(encoder.encode('{"d":"x","s":"s","m":"m","q":1.5,"n":1}\n{}'))).toBeUndefined();
  });

  it('when a job is encoded, then the wire keeps its compact single-letter fields', () => {
    expect(JSON.parse(new TextDecoder().decode(encodeJob(job)))).toEqual({ d: 'dlv_1', s: 'sub_1', m: 'msg_1', q: 42, n: 1 });
  });

  it('when a claimed delivery is enqueued again, then its job is the next attempt and its id names the claim', () => {
    const next = nextAttemptJob({ id: 'dlv_1', subscriptionId: 'sub_1', messageId: 'msg_1', streamSeq: 42, attemptCount: 1, claimedUntil: new Date(5) });
    expect(next).toEqual({ ...job, attempt: 2 });
    expect(firstAttemptJob({ deliveryId: 'dlv_1', subscriptionId: 'sub_1', messageId: 'msg_1', streamSeq: 42 })).toEqual(job);
  });

  it('when the router and the scheduler enqueue an attempt, then their message ids differ only by the claim', () => {
    expect(jobMsgId(job)).toBe('dlv_1:1');
    expect(jobMsgId(job, new Date(1000))).toBe('dlv_1:1:1000');
  });
});
