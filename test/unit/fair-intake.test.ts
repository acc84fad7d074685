import { describe, expect, it } from '@jest/globals';
import { FairIntake, fairIntake } from '../../shared/fair-intake.js';
import { sleep } from '../helpers/wait-for.js';

interface Item {
  key: string;
  n: number;
  size?: number;
}

/** A source that yields `items` as fast as it is read, then ends (or throws `failure`). */
async function* source(items: Item[], failure?: Error): AsyncGenerator<Item> {
  for (const item of items) {
    yield item;
    await Promise.resolve();
  }
  if (failure) throw failure;
}

/** A source that yields what is pushed into it, until `end()`. */
function pushSource() {
  const queue: Item[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let read = 0;
  return {
    push(item: Item) {
      queue.push(item);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    get read() {
      return read;
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
      for (;;) {
        const item = queue.shift();
        if (item) {
          read++;
          yield item;
        } else if (ended) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

const burst = (key: string, count: number, from = 0): Item[] => Array.from({ length: count }, (_, i) => ({ key, n: from + i }));

async function collect(intake: AsyncIterable<Item>): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of intake) out.push(item);
  return out;
}

describe('FairIntake', () => {
  it('when one key bursts ahead of another within what is read ahead, then the other key is handed out on its first turn', async () => {
    const items = [...burst('noisy', 1000), { key: 'quiet', n: 0 }, { key: 'quiet', n: 1 }];
    const src = pushSource();
    for (const item of items) src.push(item);
    src.end();
    const intake = fairIntake(src, { keyOf: (i) => i.key, maxItems: 2000 });
    await sleep(20); // everything read ahead before the owner takes anything
    const out = await collect(intake);
    expect(out).toHaveLength(1002);
    // Turns alternate while both keys have items: the quiet ones go second and fourth, not after 1,000.
    expect(out.slice(0, 4).map((i) => i.key)).toEqual(['noisy', 'quiet', 'noisy', 'quiet']);
  });

  it("when items are handed out, then each key's items keep the order they were read in and none is lost or repeated", async () => {
    const items: Item[] = [];
    for (let i = 0; i < 300; i++) items.push({ key: `k${i % 7}`, n: i });
    const out = await collect(fairIntake(source(items), { keyOf: (i) => i.key, maxItems: 50 }));
    expect(out.map((i) => i.n).sort((a, b) => a - b)).toEqual(items.map((i) => i.n));
    for (let k = 0; k < 7; k++) {
      const ns = out.filter((i) => i.key === `k${k}`).map((i) => i.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
  });

  it('when the owner takes nothing, then no more than maxItems are read ahead, and reading resumes as items are taken', async () => {
    const src = pushSource();
    for (const item of burst('a', 100)) src.push(item);
    const intake = new FairIntake(src, { keyOf: (i) => i.key, maxItems: 10 });
    await sleep(20);
    // The item that fills the intake is the last one read.
    expect(src.read).toBe(10);
    expect(intake.waiting).toBe(10);
    const it = intake[Symbol.asyncIterator]();
    await it.next();
    await sleep(5);
    expect(src.read).toBe(11);
    src.end();
    let rest = 0;
    while (!(await it.next()).done) rest++;
    expect(rest).toBe(99);
  });

  it('when items are large, then maxBytes bounds what is read ahead, though one item is always let in', async () => {
    const src = pushSource();
    for (let i = 0; i < 10; i++) src.push({ key: 'a', n: i, size: 400 });
    const intake = new FairIntake(src, { keyOf: (i) => i.key, maxItems: 100, maxBytes: 1000, sizeOf: (i) => i.size ?? 0 });
    await sleep(20);
    expect(src.read).toBe(3);
    const big = pushSource();
    big.push({ key: 'a', n: 0, size: 5000 });
    const one = new FairIntake(big, { keyOf: (i) => i.key, maxItems: 100, maxBytes: 1000, sizeOf: (i) => i.size ?? 0 });
    await sleep(10);
    expect(one.waiting).toBe(1);
    src.end();
    big.end();
    expect(await collect(intake)).toHaveLength(10);
  });

  it('when every item is read, then onRead was called once for each, before it was handed out', async () => {
    const seen: number[] = [];
    const out: Item[] = [];
    for await (const item of fairIntake(source(burst('a', 20)), { keyOf: (i) => i.key, maxItems: 5, onRead: (i) => seen.push(i.n) })) {
      expect(seen).toContain(item.n);
      out.push(item);
    }
    expect(seen).toEqual(burst('a', 20).map((i) => i.n));
    expect(out).toHaveLength(20);
  });

  it('when the source fails, then what was read is still handed out and the iteration then throws', async () => {
    const out: Item[] = [];
    await expect(
      (async () => {
        for await (const item of fairIntake(source(burst('a', 5), new Error('source broke')), { keyOf: (i) => i.key, maxItems: 100 })) {
          out.push(item);
        }
      })(),
    ).rejects.toThrow('source broke');
    expect(out).toHaveLength(5);
  });
});
