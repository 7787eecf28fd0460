import { Matrix, Rng, ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { buildFeatureReference, DriftWindow, parseFeatureReference, populationStability } from './reference';

function columns(rows: number, make: (rng: Rng, i: number) => number[], seed = 1): Matrix {
  const rng = new Rng(seed);
  const first = make(rng, 0);
  const X = new Matrix(rows, first.length);
  for (let i = 0; i < rows; i++) X.data.set(i === 0 ? first : make(rng, i), i * first.length);
  return X;
}
const sample = (rng: Rng) => [rng.normal(0, 1), rng.random() < 0.03 ? 1 : 0, 5, rng.uniform(0, 360)];
const names = ['normal', 'flag', 'constant', 'angle'];

describe('the training reference', () => {
  it('bins each feature by the deciles of the training normals (ties collapse)', () => {
    const ref = buildFeatureReference(columns(2000, sample), names, 'test', 'normals');
    const [normal, flag, constant, angle] = ref.features;
    expect(normal!.edges).toHaveLength(9);
    expect(normal!.shares).toHaveLength(11);
    expect(normal!.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(normal!.shares[0]).toBe(0); // nothing below the minimum
    // A flag: its 0 a bin of its own, its 1 above (a rise in ones shows).
    expect(flag).toMatchObject({ min: 0, edges: [0] });
    expect(flag!.shares[1]).toBeGreaterThan(0.95);
    expect(flag!.shares[2]).toBeGreaterThan(0);
    expect(constant).toMatchObject({ min: 5, edges: [5], shares: [0, 1, 0] });
    expect(angle!.edges[4]).toBeGreaterThan(150);
    expect(parseFeatureReference(JSON.parse(JSON.stringify(ref)))).toEqual(ref);
  });

  it('gives a PSI near 0 for the same distribution and a large one for a shifted or new value', () => {
    const ref = buildFeatureReference(columns(3000, sample), names, 'test', 'normals');
    const same = new DriftWindow(ref, 2000);
    same.add(columns(2000, sample, 2));
    for (const d of same.drift()) expect(d.psi).toBeLessThan(0.05);
    const shifted = new DriftWindow(ref, 2000);
    shifted.add(
      columns(2000, (rng) => [rng.normal(1.5, 1), rng.random() < 0.03 ? 1 : 0, 4, rng.uniform(0, 360)], 3),
    );
    const drift = Object.fromEntries(shifted.drift().map((d) => [d.feature, d.psi]));
    expect(drift.normal).toBeGreaterThan(0.25);
    const flags = new DriftWindow(ref, 1000);
    flags.add(
      columns(1000, (rng) => [rng.normal(0, 1), rng.random() < 0.3 ? 1 : 0, 5, rng.uniform(0, 360)], 6),
    );
    expect(flags.drift()[0]!.feature).toBe('flag');
    expect(flags.drift()[0]!.psi).toBeGreaterThan(0.25);
    expect(drift.constant).toBeGreaterThan(5); // every value below what training ever saw
    expect(drift.angle).toBeLessThan(0.05);
    expect(populationStability([0.5, 0.5], [50, 50], 100)).toBe(0);
  });

  it('rolls: a full window counts only its last `capacity` records', () => {
    const ref = buildFeatureReference(columns(1000, sample), names, 'test', 'normals');
    const window = new DriftWindow(ref, 300);
    window.add(columns(500, (rng) => [rng.normal(3, 1), 1, 9, 0], 4));
    const recent = columns(300, sample, 5);
    window.add(recent);
    expect(window.size).toBe(300);
    const fresh = new DriftWindow(ref, 300);
    fresh.add(recent);
    expect(window.drift()).toEqual(fresh.drift());
  });

  it('refuses a malformed reference, naming the field', () => {
    const ref = buildFeatureReference(columns(100, sample), names, 'test', 'normals');
    const broken = JSON.parse(JSON.stringify(ref));
    broken.features[0].shares.pop();
    expect(() => parseFeatureReference(broken, 'reference.json')).toThrow(
      /reference\.json\.features\[0\]\.shares: expected 11 shares/,
    );
    expect(() => buildFeatureReference(new Matrix(0, 4), names, 't', 'x')).toThrow(ValidationError);
    expect(() => new DriftWindow(ref, 0)).toThrow(/capacity/);
  });
});
