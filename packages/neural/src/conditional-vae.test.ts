import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadArtifact, Matrix, Rng, rocAuc, saveArtifact, ValidationError } from '@anomalia/core';
import { type ConformanceData, conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { type ConditionalInput, ConditionalVAE, joinConditions, oneHotConditions } from './conditional-vae';
import { VariationalAutoEncoder } from './vae';

const small = { epochs: 15, encoderLayers: [16], decoderLayers: [16], latent: 2, learningRate: 3e-3 };

/** Planted anomalies whose normal rows sit at +1.5 under condition "a" and −1.5 under "b". */
function conditioned(rows: number, seed: number, fraction: number): { X: ConditionalInput; y: Float64Array } {
  const { X, y } = plantedAnomalies(rows, 5, seed, fraction);
  const labels = Array.from({ length: rows }, (_, i) => (i % 2 === 0 ? 'a' : 'b'));
  for (let i = 0; i < rows; i++) {
    if (y[i]) continue;
    for (let j = 0; j < 5; j++) X.data[i * 5 + j]! += labels[i] === 'a' ? 1.5 : -1.5;
  }
  return { X: { X, conditions: oneHotConditions(labels, ['a', 'b']).conditions }, y };
}

function conformanceData(): ConformanceData<ConditionalInput> {
  const train = conditioned(300, 11, 0);
  const test = conditioned(150, 12, 0.2);
  const nanConditions = test.X.conditions.clone();
  nanConditions.set(2, 1, Number.NaN);
  const badTrain = train.X.X.clone();
  badTrain.set(0, 0, Number.NaN);
  return {
    train,
    test,
    invalid: [
      {
        name: 'a wrong feature count',
        X: { X: new Matrix(3, 6), conditions: new Matrix(3, 2) },
        field: 'input.X.cols',
      },
      {
        name: 'a wrong condition width',
        X: { X: new Matrix(3, 5), conditions: new Matrix(3, 3) },
        field: 'input.conditions.cols',
      },
      {
        name: 'NaN in a condition',
        X: { X: test.X.X, conditions: nanConditions },
        field: 'input.conditions[2][1]',
      },
      {
        name: 'a condition row count other than the rows of X',
        X: { X: test.X.X, conditions: new Matrix(4, 2) },
        field: 'input.conditions.rows',
      },
      { name: 'a bare matrix', X: test.X.X as unknown as ConditionalInput, field: 'input' },
    ],
    invalidFit: { X: badTrain, conditions: train.X.conditions },
  };
}

describe('ConditionalVAE conformance', () => {
  for (const c of conformanceChecks<ConditionalInput>({
    create: (seed) => new ConditionalVAE({ ...small, seed }),
    load: (dir) => ConditionalVAE.load(dir),
    data: conformanceData(),
  })) {
    it(c.name, c.run);
  }
});

/**
 * Windows of 6 steps × 2 channels: under regime "a" channel 0 rises and channel 1 falls, under
 * "b" the reverse; the amplitude varies per window, with small noise.
 */
function regimeWindows(regimes: readonly string[], seed: number): Matrix {
  const rng = new Rng(seed);
  const X = new Matrix(regimes.length, 12);
  regimes.forEach((regime, i) => {
    const amplitude = rng.uniform(0.5, 1.5);
    const sign = regime === 'a' ? 1 : -1;
    for (let t = 0; t < 6; t++) {
      const ramp = (t - 2.5) / 2.5;
      X.set(i, t * 2, sign * amplitude * ramp + 0.05 * rng.normal());
      X.set(i, t * 2 + 1, -sign * amplitude * ramp + 0.05 * rng.normal());
    }
  });
  return X;
}

describe('ConditionalVAE', () => {
  const trainRegimes = Array.from({ length: 600 }, (_, i) => (i % 2 === 0 ? 'a' : 'b'));
  const train = {
    X: regimeWindows(trainRegimes, 1),
    conditions: oneHotConditions(trainRegimes, ['a', 'b']).conditions,
  };
  const testA = regimeWindows(Array(100).fill('a'), 2);
  const asRegime = (X: Matrix, regime: string) => ({
    X,
    conditions: oneHotConditions(Array(X.rows).fill(regime), ['a', 'b']).conditions,
  });

  it('scores a window normal under its own regime low and the same window under the other regime high', async () => {
    const m = new ConditionalVAE({ seed: 3, epochs: 40, contamination: 0.05 });
    await m.fit(train);
    const own = await m.score(asRegime(testA, 'a'));
    const other = await m.score(asRegime(testA, 'b'));
    const t = m.threshold!.value;
    // Every window scores higher under the wrong regime, by a wide margin.
    for (let i = 0; i < testA.rows; i++) expect(other[i]!).toBeGreaterThan(2 * own[i]!);
    const flagged = (s: Float64Array) => s.filter((v) => v > t).length;
    expect(flagged(own)).toBeLessThanOrEqual(10);
    expect(flagged(other)).toBe(testA.rows);
    // A regime-"b" window under "b" is normal too.
    const ownB = await m.score(asRegime(regimeWindows(Array(100).fill('b'), 4), 'b'));
    expect(flagged(ownB)).toBeLessThanOrEqual(10);
  });

  it('(contrast) an unconditional VAE on the same windows sees no regime, so it flags neither', async () => {
    const m = new VariationalAutoEncoder({ seed: 3, epochs: 40, contamination: 0.05 });
    await m.fit(train.X);
    // The same rows: scores do not depend on a regime it never sees, and both regimes are normal.
    const s = await m.score(testA);
    expect(s.filter((v) => v > m.threshold!.value).length).toBeLessThanOrEqual(10);
  });

  it('offers the KL score, per-feature errors, saliency restricted to the features, and latent means', async () => {
    const m = new ConditionalVAE({ ...small, seed: 5, score: 'kl', contamination: 0.05 });
    const names = Array.from({ length: 12 }, (_, j) => `f${j}`);
    await m.fit(train, { featureNames: names });
    expect(m.featureNames).toEqual(names);
    expect([m.inputDimension, m.conditionDimension]).toEqual([12, 2]);
    const s = await m.score(train);
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    // rec / mean(rec) + α · KL / mean(KL) averages 1 + α on the training rows.
    expect(mean).toBeCloseTo(1 + m.params.alpha, 1);
    const errors = await m.reconstructionErrors(asRegime(testA, 'b'));
    expect([errors.rows, errors.cols]).toEqual([100, 12]);
    const g = await m.featureImportance(asRegime(testA, 'b'), { timesInput: true });
    expect([g.perRow.rows, g.perRow.cols]).toEqual([100, 12]);
    expect(g.featureNames).toEqual(names);
    const mu = await m.latentMeans(asRegime(testA, 'a'));
    expect([mu.rows, mu.cols]).toEqual([100, 2]);
    const u = await m.predictWithUncertainty(asRegime(testA, 'a'), { passes: 4 });
    expect(u.mean.every(Number.isFinite)).toBe(true);
    expect(
      rocAuc(
        Float64Array.from({ length: 200 }, (_, i) => (i < 100 ? 0 : 1)),
        Float64Array.from([
          ...(await m.score(asRegime(testA, 'a'))),
          ...(await m.score(asRegime(testA, 'b'))),
        ]),
      ),
    ).toBeGreaterThan(0.95);
  });

  it('saves the condition width and refuses an artifact whose width is inconsistent', async () => {
    const m = new ConditionalVAE({ ...small, seed: 6 });
    await m.fit(train);
    const dir = await mkdtemp(join(tmpdir(), 'anomalia-cvae-'));
    try {
      const manifest = await m.save(dir);
      expect(manifest.state.nConditions).toBe(2);
      expect(manifest.state.nFeatures).toBe(14);
      expect(manifest.scaler?.center.length).toBe(14);
      const loaded = await ConditionalVAE.load(dir);
      expect(Array.from(await loaded.score(asRegime(testA, 'b')))).toEqual(
        Array.from(await m.score(asRegime(testA, 'b'))),
      );
      // A well-formed artifact whose condition width leaves no features is refused, naming the field.
      const artifact = await loadArtifact(dir);
      const bad = join(dir, 'bad');
      await saveArtifact(bad, { ...artifact, state: { ...artifact.state, nConditions: 14 } });
      await expect(ConditionalVAE.load(bad)).rejects.toMatchObject({
        name: 'ArtifactError',
        field: 'state.nConditions',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('one-hot conditions: fixed categories, an unknown label is an error naming its row', () => {
    const { conditions, categories } = oneHotConditions(['y', 'x', 'y']);
    expect(categories).toEqual(['x', 'y']);
    expect(conditions.toArrays()).toEqual([
      [0, 1],
      [1, 0],
      [0, 1],
    ]);
    expect(() => oneHotConditions(['x', 'z'], ['x', 'y'])).toThrow(
      expect.objectContaining({ field: 'labels[1]' }) as unknown as Error,
    );
    expect(() => oneHotConditions([], [])).toThrow(ValidationError);
    expect(
      joinConditions({ X: Matrix.fromRows([[1, 2]]), conditions: Matrix.fromRows([[3]]) }).toArrays(),
    ).toEqual([[1, 2, 3]]);
  });
});
