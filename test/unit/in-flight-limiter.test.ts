import { describe, expect, it } from '@jest/globals';
import { InFlightLimiter } from '../../services/dispatcher/gates/in-flight-limiter.js';

describe('InFlightLimiter', () => {
  it('when maxInFlight slots are taken, then the next is refused until one is released', () => {
    const l = new InFlightLimiter();
    expect(l.tryAcquire('s', 2)).toBe(true);
    expect(l.tryAcquire('s', 2)).toBe(true);
    expect(l.tryAcquire('s', 2)).toBe(false);
    expect(l.tryAcquire('other', 2)).toBe(true);
    l.release('s', true);
    expect(l.tryAcquire('s', 2)).toBe(true);
  });

  it('when no maxInFlight is set, then a healthy endpoint is not limited', () => {
    const l = new InFlightLimiter();
    for (let i = 0; i < 1000; i++) expect(l.tryAcquire('s', undefined)).toBe(true);
  });

  it('when an endpoint fails 5 times in a row, then it gets 4 slots until a success', () => {
    const l = new InFlightLimiter({ failuresToThrottle: 5, throttledInFlight: 4 });
    for (let i = 0; i < 5; i++) {
      l.tryAcquire('s', 100);
      l.release('s', false);
    }
    expect(l.failures('s')).toBe(5);
    for (let i = 0; i < 4; i++) expect(l.tryAcquire('s', 100)).toBe(true);
    expect(l.tryAcquire('s', 100)).toBe(false);
    l.release('s', true);
    expect(l.failures('s')).toBe(0);
    expect(l.tryAcquire('s', 100)).toBe(true);
    expect(l.tryAcquire('s', 100)).toBe(true);
  });

  it('when a job was parked after taking a slot (no attempt), then its release changes no failure count', () => {
    const l = new InFlightLimiter();
    l.tryAcquire('s', 1);
    l.release('s', false);
    l.tryAcquire('s', 1);
    l.release('s', undefined);
    expect(l.failures('s')).toBe(1);
  });

  it('when many jobs are turned away, then they park longer, spread by jitter, within bounds', () => {
    const l = new InFlightLimiter();
    l.tryAcquire('s', 1);
    l.release('s', undefined, 200); // avg ≈ 120 ms
    l.tryAcquire('s', 1);
    const mid = () => 0.5;
    expect(l.tryAcquire('s', 1)).toBe(false);
    const one = l.parkMs('s', 1, mid);
    for (let i = 0; i < 50; i++) l.tryAcquire('s', 1);
    const many = l.parkMs('s', 1, mid);
    expect(one).toBeGreaterThanOrEqual(100);
    expect(many).toBeGreaterThan(one * 10);
    expect(l.parkMs('s', 1, () => 0)).toBe(Math.round(many / 2));
    expect(l.parkMs('s', 1, () => 0.999)).toBeLessThanOrEqual(90_000);
  });

  it('when an endpoint is struggling, then turned-away jobs park for at least a second, growing with the failures', () => {
    const l = new InFlightLimiter();
    for (let i = 0; i < 5; i++) {
      l.tryAcquire('s', undefined);
      l.release('s', false, 10);
    }
    const at5 = l.parkMs('s', undefined, () => 0);
    for (let i = 0; i < 10; i++) {
      l.tryAcquire('s', undefined);
      l.release('s', false, 10);
    }
    const at15 = l.parkMs('s', undefined, () => 0);
    expect(at5).toBe(1000);
    expect(at15).toBe(4000);
  });
});
