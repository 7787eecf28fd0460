import { describe, expect, it } from 'vitest';
import { createCusum, cusum } from './cusum';

const MONTGOMERY_9_1 = [
  9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.2, 10.34, 9.03, 11.47, 10.51, 9.4, 10.08, 9.37, 10.62,
  10.31, 8.52, 10.84, 10.9, 9.33, 12.29, 11.5, 10.6, 11.08, 10.38, 11.62, 11.31, 10.52,
];

describe('cusum', () => {
  it("fires at Montgomery's period 29 on the upper side (Example 9.1)", () => {
    const r = cusum(MONTGOMERY_9_1, { target: 10, sigma: 1, k: 0.5, h: 5 });
    if (r.status !== 'ok') throw new Error(r.reason);
    expect(r.signalIndex).toBe(28);
    expect(r.runLength).toBe(29);
    expect(r.signalSide).toBe('upper');
    expect(r.upperSignalIndex).toBe(28);
    expect(r.lowerSignalIndex).toBeNull();
    expect(r.upper[28]).toBeCloseTo(5.28, 2);
  });

  it('streams the same states as the batch form', () => {
    const options = { target: 10, sigma: 1, k: 0.5, h: 4, headStart: 2 };
    const batch = cusum(MONTGOMERY_9_1, options);
    if (batch.status !== 'ok') throw new Error(batch.reason);
    const monitor = createCusum(options);
    expect(monitor.state).toBeNull();
    MONTGOMERY_9_1.forEach((x, i) => {
      const s = monitor.push(x);
      expect(s.index).toBe(i);
      expect(s.upper).toBe(batch.upper[i]);
      expect(s.lower).toBe(batch.lower[i]);
      expect(s.z).toBeCloseTo(x - 10, 12);
    });
    expect(monitor.state?.firstSignalIndex).toBe(batch.signalIndex);
    monitor.reset();
    expect(monitor.state).toBeNull();
    expect(monitor.push(10).upper).toBe(Math.max(0, 2 - 0.5));
  });

  it('step gives the same chart as push without a state object per value', () => {
    const options = { target: 10, sigma: 1, k: 0.5, h: 3, resetOnSignal: true };
    const pushed = createCusum(options);
    const stepped = createCusum(options);
    expect([stepped.upper, stepped.lower]).toEqual([0, 0]);
    let signals = 0;
    for (const x of MONTGOMERY_9_1) {
      const s = pushed.push(x);
      const side = stepped.step(x);
      expect([side, stepped.upper, stepped.lower]).toEqual([s.signal, s.upper, s.lower]);
      expect(stepped.state).toEqual(s);
      if (side !== null) signals++;
    }
    expect(signals).toBeGreaterThan(0);
    expect(() => stepped.step(Number.NaN)).toThrow(/at index 30: expected a finite number/);
  });

  it('fills the defaults and refuses what the schema refuses, naming the field', () => {
    expect(createCusum({ target: 1, sigma: 2 }).options).toEqual({
      target: 1,
      sigma: 2,
      k: 0.5,
      h: 5,
      headStart: 0,
      resetOnSignal: false,
    });
    expect(createCusum({ target: 1, sigma: 2, k: undefined }).options.k).toBe(0.5);
    expect(() => createCusum({ target: 0, sigma: 1, k: -1 })).toThrow(/cusum\.k: expected a number ≥ 0/);
    expect(() => createCusum({ target: 0, sigma: 1, h: Number.NaN })).toThrow(/cusum\.h/);
    expect(() => createCusum({ target: 0, sigma: 1, resetOnSignal: 1 } as never)).toThrow(
      /cusum\.resetOnSignal/,
    );
    expect(() => createCusum(JSON.parse('{"target":0,"sigma":1,"__proto__":{}}'))).toThrow(/__proto__/);
  });

  it('a head start signals an already shifted process sooner', () => {
    const shifted = Array.from({ length: 20 }, (_, i) => 11.2 + 0.1 * Math.sin(i));
    const plain = cusum(shifted, { target: 10, sigma: 1, h: 5 });
    const fir = cusum(shifted, { target: 10, sigma: 1, h: 5, headStart: 2.5 });
    if (plain.status !== 'ok' || fir.status !== 'ok') throw new Error('insufficient');
    expect(fir.runLength!).toBeLessThan(plain.runLength!);
  });

  it('detects a downward shift on the lower side and counts each signal after a reset', () => {
    const values = [...Array(10).fill(0), ...Array(20).fill(-2)];
    const r = cusum(values, { target: 0, sigma: 1, k: 0.5, h: 4, resetOnSignal: true });
    if (r.status !== 'ok') throw new Error(r.reason);
    // −2 per point gives C⁻ += 1.5: above 4 after 3 points, then the sum restarts.
    expect(r.signalSide).toBe('lower');
    expect(r.signalIndices).toEqual([12, 15, 18, 21, 24, 27]);
  });

  it('reports insufficient data for an empty series and refuses bad values and options', () => {
    expect(cusum([], { target: 0, sigma: 1 })).toEqual({
      status: 'insufficient-data',
      n: 0,
      required: 1,
      reason: 'insufficient data: need ≥ 1 values, got 0',
    });
    expect(() => cusum([1, 2, Number.NaN, 4], { target: 0, sigma: 1 })).toThrow(
      /values\[2\]: expected a finite number/,
    );
    expect(() => cusum([1], { target: 0, sigma: 0 })).toThrow(/cusum\.sigma: expected a number > 0/);
    expect(() => cusum([1], { target: 0, sigma: 1, kk: 1 } as never)).toThrow(
      /cusum\.kk: expected no such key/,
    );
    expect(() => createCusum({ target: 0, sigma: 1, h: 4, headStart: 4 })).toThrow(
      /cusum\.headStart: expected a number < h/,
    );
    const monitor = createCusum({ target: 0, sigma: 1 });
    monitor.push(1);
    expect(() => monitor.push(Number.POSITIVE_INFINITY)).toThrow(/at index 1: expected a finite number/);
  });

  it('a constant in-control series never signals', () => {
    const r = cusum(new Float64Array(50).fill(3), { target: 3, sigma: 0.1 });
    expect(r.status === 'ok' && r.signalIndex === null && r.runLength === null).toBe(true);
  });
});
