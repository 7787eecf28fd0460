import { describe, expect, it } from 'vitest';
import { createEwma, ewma } from './ewma';

describe('ewma', () => {
  it('with λ = 1 is a Shewhart chart: the value itself against μ0 ± Lσ', () => {
    const r = ewma([0, 1, 2.9, 3.1, -3.2], { target: 0, sigma: 1, lambda: 1, L: 3 });
    if (r.status !== 'ok') throw new Error(r.reason);
    expect([...r.ewma]).toEqual([0, 1, 2.9, 3.1, -3.2]);
    for (let i = 0; i < 5; i++) expect(r.upperLimit[i]).toBeCloseTo(3, 12);
    expect(r.signalIndices).toEqual([3, 4]);
    expect(r.signalSide).toBe('upper');
    expect(r.runLength).toBe(4);
  });

  it('exact limits start narrow and widen to the asymptotic ones', () => {
    const values = new Array(200).fill(5);
    const exact = ewma(values, { target: 5, sigma: 2, lambda: 0.1, L: 2.7 });
    const asymptotic = ewma(values, { target: 5, sigma: 2, lambda: 0.1, L: 2.7, exactLimits: false });
    if (exact.status !== 'ok' || asymptotic.status !== 'ok') throw new Error('insufficient');
    const width = 2.7 * 2 * Math.sqrt(0.1 / 1.9);
    expect(exact.upperLimit[0]! - 5).toBeCloseTo(2.7 * 2 * 0.1, 12); // √(λ/(2−λ)·(1−(1−λ)²)) = λ
    expect(exact.upperLimit[199]! - 5).toBeCloseTo(width, 9);
    expect(asymptotic.upperLimit[0]! - 5).toBeCloseTo(width, 12);
    expect(exact.signalIndex).toBeNull();
  });

  it('streams the same states as the batch form and resets', () => {
    const values = [1, 2, 0.5, 4, 3, 3.5, 5];
    const options = { target: 1, sigma: 1, lambda: 0.3, L: 2.5 };
    const batch = ewma(values, options);
    if (batch.status !== 'ok') throw new Error(batch.reason);
    const monitor = createEwma(options);
    values.forEach((x, i) => {
      const s = monitor.push(x);
      expect(s.ewma).toBe(batch.ewma[i]);
      expect(s.upperLimit).toBe(batch.upperLimit[i]);
    });
    expect(monitor.state?.firstSignalIndex).toBe(batch.signalIndex);
    monitor.reset();
    expect(monitor.push(1).ewma).toBe(1);
  });

  it('refuses bad options and values', () => {
    expect(() => createEwma({ target: 0, sigma: 1, lambda: 0 })).toThrow(
      /ewma\.lambda: expected a number > 0/,
    );
    expect(() => createEwma({ target: 0, sigma: 1, lambda: 1.5 })).toThrow(
      /ewma\.lambda: expected a number ≤ 1/,
    );
    expect(() => ewma([1, Number.NaN], { target: 0, sigma: 1 })).toThrow(/values\[1\]/);
    expect(ewma([], { target: 0, sigma: 1 }).status).toBe('insufficient-data');
  });
});
