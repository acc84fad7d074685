import { describe, expect, it } from '@jest/globals';
import { RoutedFloor } from '../../services/dispatcher/gates/routed-floor.js';

describe('RoutedFloor', () => {
  it('when every older message is known routed, then it answers at once without a lookup', async () => {
    let lookups = 0;
    const f = new RoutedFloor(async () => {
      lookups++;
      return 10;
    });
    expect(await f.covers(1)).toBe(true);
    expect(lookups).toBe(0);
    expect(await f.covers(11)).toBe(true);
    expect(lookups).toBe(1);
    expect(await f.covers(11)).toBe(true);
    expect(lookups).toBe(1);
  });

  it('when the router is behind, then it waits for it, and answers false after waitMs', async () => {
    let floor = 5;
    const f = new RoutedFloor(async () => floor, { waitMs: 60, pollMs: 5 });
    setTimeout(() => (floor = 8), 20);
    expect(await f.covers(9)).toBe(true);
    expect(await f.covers(20)).toBe(false);
  });

  it('when many callers wait at once, then they share one lookup at a time', async () => {
    let lookups = 0;
    const f = new RoutedFloor(async () => {
      lookups++;
      await new Promise((r) => setTimeout(r, 10));
      return 100;
    });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => f.covers(50 + i)));
    expect(answers.every(Boolean)).toBe(true);
    expect(lookups).toBe(1);
  });

  it('when the lookup fails, then the error reaches the caller (which decides)', async () => {
    const f = new RoutedFloor(async () => {
      throw new Error('no router consumer');
    });
    await expect(f.covers(5)).rejects.toThrow('no router consumer');
  });
});
