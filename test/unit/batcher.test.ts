import { describe, it, expect } from '@jest/globals';
import { Batcher } from '../../shared/batcher.js';
import { sleep } from '../helpers/wait-for.js';

/** A batcher whose flush records each batch and answers item × 10. */
function recording(options: { maxItems?: number; maxDelayMs?: number }, fail?: (batch: number[]) => boolean) {
  const batches: number[][] = [];
  const batcher = new Batcher<number, number>(async (items) => {
    batches.push(items);
    await sleep(1);
    if (fail?.(items)) throw new Error(`batch ${items.join(',')} failed`);
    return items.map((i) => i * 10);
  }, options);
  return { batcher, batches };
}

describe('Batcher', () => {
  it('when maxItems items arrive at once, then they are flushed together without waiting for the delay', async () => {
    const { batcher, batches } = recording({ maxItems: 3, maxDelayMs: 10_000 });
    const started = Date.now();
    const results = await Promise.all([1, 2, 3].map((i) => batcher.add(i)));
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('when more than maxItems items arrive, then they are split into batches of at most maxItems, in order', async () => {
    const { batcher, batches } = recording({ maxItems: 3, maxDelayMs: 5 });
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => batcher.add(i)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('when fewer than maxItems items arrive, then they are flushed after maxDelayMs', async () => {
    const { batcher, batches } = recording({ maxItems: 100, maxDelayMs: 600 });
    const started = Date.now();
    const pending = [batcher.add(1), batcher.add(2)];
    await sleep(50);
    expect(batches).toEqual([]);
    expect(batcher.pending).toBe(2);
    expect(await Promise.all(pending)).toEqual([10, 20]);
    expect(batches).toEqual([[1, 2]]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
  });

  it('when items arrive apart by more than the delay, then each goes in its own batch', async () => {
    const { batcher, batches } = recording({ maxItems: 100, maxDelayMs: 5 });
    expect(await batcher.add(1)).toBe(10);
    expect(await batcher.add(2)).toBe(20);
    expect(batches).toEqual([[1], [2]]);
  });

  it('when maxDelayMs is 0, then what arrives in one task goes together, what arrives during a flush goes next, and nothing waits for a timer', async () => {
    const { batcher, batches } = recording({ maxItems: 100, maxDelayMs: 0 });
    const first = [1, 2, 3].map((i) => batcher.add(i));
    // The first batch is flushing (its flush sleeps 1 ms): these gather behind it.
    await Promise.resolve();
    await Promise.resolve();
    const second = [4, 5].map((i) => batcher.add(i));
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
    // A lone item goes at once: a timer-free flush, well under any delay a timer would add on a busy loop.
    const started = performance.now();
    expect(await batcher.add(6)).toBe(60);
    expect(batches.at(-1)).toEqual([6]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('when several callers share a batch, then each gets its own result', async () => {
    const batcher = new Batcher<string, string>(async (items) => items.map((s) => s.toUpperCase()), { maxDelayMs: 5 });
    const [a, b, c] = await Promise.all([batcher.add('a'), batcher.add('b'), batcher.add('c')]);
    expect([a, b, c]).toEqual(['A', 'B', 'C']);
  });

  it('when one flush fails, then only the callers of that batch are rejected', async () => {
    const { batcher, batches } = recording({ maxItems: 2, maxDelayMs: 5 }, (b) => b.includes(3));
    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => batcher.add(i)));
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toEqual(new Error('batch 3,4 failed'));
    expect((outcomes[4] as PromiseFulfilledResult<number>).value).toBe(50);
  });

  it('when a flush fails, then the batcher keeps working for later items', async () => {
    let fail = true;
    const batcher = new Batcher<number, number>(async (items) => {
      if (fail) throw new Error('down');
      return items;
    }, { maxDelayMs: 1 });
    await expect(batcher.add(1)).rejects.toThrow('down');
    fail = false;
    await expect(batcher.add(2)).resolves.toBe(2);
  });

  it('when batches are flushed, then they run one at a time, never concurrently', async () => {
    let running = 0;
    let maxRunning = 0;
    const batcher = new Batcher<number, number>(async (items) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(20);
      running--;
      return items;
    }, { maxItems: 2, maxDelayMs: 1 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.add(i)));
    expect(maxRunning).toBe(1);
  });

  it('when drained, then waiting items are flushed at once and drain resolves after them', async () => {
    const { batcher, batches } = recording({ maxItems: 100, maxDelayMs: 60_000 });
    const pending = batcher.add(7);
    await batcher.drain();
    expect(batches).toEqual([[7]]);
    await expect(pending).resolves.toBe(70);
    expect(batcher.pending).toBe(0);
  });
});
