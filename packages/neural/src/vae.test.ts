import { Matrix, rocAuc } from '@anomalia/core';
import { conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { pca2d } from './pca';
import { VariationalAutoEncoder } from './vae';

const small = { epochs: 15, encoderLayers: [16], decoderLayers: [16], latent: 2, learningRate: 3e-3 };

describe('VariationalAutoEncoder conformance', () => {
  for (const c of conformanceChecks({
    create: (seed) => new VariationalAutoEncoder({ ...small, seed }),
    load: (dir) => VariationalAutoEncoder.load(dir),
  })) {
    it(c.name, c.run);
  }
});

describe('VariationalAutoEncoder', () => {
  it('separates injected anomalies; both score terms are ≈ 1 on normal training rows', async () => {
    const train = plantedAnomalies(400, 6, 51, 0);
    const test = plantedAnomalies(200, 6, 52, 0.2);
    const m = new VariationalAutoEncoder({ ...small, seed: 3 });
    await m.fit(train.X);
    expect(rocAuc(test.y, await m.score(test.X))).toBeGreaterThanOrEqual(0.95);
    const s = await m.score(train.X);
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    // rec / mean(rec) + α · dist / mean(dist) averages 1 + α on the training rows.
    expect(mean).toBeCloseTo(1 + m.params.alpha, 1);
  });

  it('outputs latent means and projects them to 2-D', async () => {
    const train = plantedAnomalies(200, 5, 53, 0);
    const m = new VariationalAutoEncoder({ ...small, latent: 3, seed: 4 });
    await m.fit(train.X);
    const mu = await m.latentMeans(train.X);
    expect([mu.rows, mu.cols]).toEqual([200, 3]);
    const { projection, explainedVariance } = pca2d(mu);
    expect([projection.rows, projection.cols]).toEqual([200, 2]);
    expect(explainedVariance[0]).toBeGreaterThanOrEqual(explainedVariance[1]);
  });

  it('pca2d finds the dominant direction', () => {
    const X = Matrix.fromRows(Array.from({ length: 50 }, (_, i) => [i, 2 * i + (i % 2), 0.1 * (i % 3)]));
    const { components, explainedVariance } = pca2d(X);
    const c = components[0]!;
    expect(Math.abs(c[1]! / c[0]!)).toBeCloseTo(2, 1);
    expect(explainedVariance[0]).toBeGreaterThan(10 * explainedVariance[1]);
  });
});
