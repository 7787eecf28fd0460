import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { BENFORD_FIRST_DIGIT, benfordFirstDigit, firstSignificantDigit, nigriniConformity } from './benford';

describe('firstSignificantDigit', () => {
  it('reads the digit as the number prints, not as floating-point division would', () => {
    expect(firstSignificantDigit(0.3)).toBe(3); // 0.3 / 10⁻¹ = 2.9999999999999996
    expect(firstSignificantDigit(1e-7)).toBe(1);
    expect(firstSignificantDigit(2.9999999999999996)).toBe(2);
    expect(firstSignificantDigit(1000)).toBe(1);
    expect(firstSignificantDigit(-45.6)).toBe(4);
    expect(firstSignificantDigit(5e-324)).toBe(5);
    expect(firstSignificantDigit(Number.MAX_VALUE)).toBe(1);
  });
});

describe('benfordFirstDigit', () => {
  it('accepts data spanning decades that follow the law', () => {
    const rng = new Rng(3);
    const values = Array.from({ length: 5000 }, () => Math.exp(rng.normal(2, 3)));
    const r = benfordFirstDigit(values);
    if (r.status !== 'ok') throw new Error(r.reason);
    expect(r.spansOrdersOfMagnitude).toBe(true);
    expect(r.warning).toBeUndefined();
    expect(r.conformity).toBe('close');
    expect(r.pValue).toBeGreaterThan(0.01);
  });

  it('warns that a narrow range makes the test invalid, while still reporting it', () => {
    const rng = new Rng(4);
    const doses = Array.from({ length: 600 }, () => rng.uniform(180, 220));
    const r = benfordFirstDigit(doses);
    if (r.status !== 'ok') throw new Error(r.reason);
    expect(r.ordersOfMagnitude).toBeLessThan(0.1);
    expect(r.spansOrdersOfMagnitude).toBe(false);
    expect(r.warning).toMatch(/fewer than 2: Benford's law does not apply/);
    expect(r.conformity).toBe('nonconformity');
  });

  it('leaves zeros out, counts negatives by magnitude and needs enough values', () => {
    const values = [0, 0, -1.5, 2, 30, -400, 0.5];
    const r = benfordFirstDigit(values, { minCount: 5 });
    if (r.status !== 'ok') throw new Error(r.reason);
    expect(r.n).toBe(5);
    expect(r.excluded).toBe(2);
    expect(r.counts).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(benfordFirstDigit(values)).toEqual({
      status: 'insufficient-data',
      n: 5,
      required: 110,
      reason: 'insufficient data: need ≥ 110 non-zero values, got 5',
    });
    expect(() => benfordFirstDigit([1, Number.POSITIVE_INFINITY])).toThrow(
      /values\[1\]: expected a finite number/,
    );
  });

  it("sorts MAD into Nigrini's bands", () => {
    expect(
      ['0.005', '0.006', '0.0061', '0.012', '0.015', '0.0151'].map((m) => nigriniConformity(Number(m))),
    ).toEqual(['close', 'close', 'acceptable', 'acceptable', 'marginal', 'nonconformity']);
    expect(BENFORD_FIRST_DIGIT.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
  });
});
