import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, rocAuc } from '@anomalia/core';
import { conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import type { LayerSpec } from './network';
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

  it("builds PyOD's VAE: encoder [128, 64, 32], μ and log σ² of 2, decoder [32, 64, 128], β = 0", () => {
    const m = new VariationalAutoEncoder();
    const nets = (
      m as unknown as { buildNetworks(i: number): Array<{ name: string; layers: LayerSpec[] }> }
    ).buildNetworks(21);
    expect(nets.map((n) => n.name)).toEqual(['encoder', 'head', 'decoder']);
    const [enc, head, dec] = nets as [(typeof nets)[0], (typeof nets)[0], (typeof nets)[0]];
    expect(enc.layers.map((l) => [l.outputs, l.activation, l.dropout, l.init])).toEqual([
      [128, 'relu', 0.2, 'kaiming-uniform'],
      [64, 'relu', 0.2, 'kaiming-uniform'],
      [32, 'relu', 0.2, 'kaiming-uniform'],
    ]);
    expect(head.layers.map((l) => [l.inputs, l.outputs, l.activation, l.init])).toEqual([
      [32, 4, 'linear', 'linear'],
    ]);
    expect(dec.layers.map((l) => [l.outputs, l.activation, l.dropout, l.init])).toEqual([
      [32, 'relu', 0.2, 'kaiming-uniform'],
      [64, 'relu', 0.2, 'kaiming-uniform'],
      [128, 'relu', 0.2, 'kaiming-uniform'],
      [21, 'linear', 0, 'kaiming-uniform'],
    ]);
    expect([...enc.layers, ...dec.layers].some((l) => l.norm || l.batchNorm)).toBe(false);
    expect(m.params).toMatchObject({
      latent: 2,
      beta: 0,
      alpha: 0,
      epochs: 10,
      batchSize: 32,
      learningRate: 1e-3,
      weightDecay: 1e-5,
      validationFraction: 0,
      normalization: 'none',
      scaler: 'standard',
    });
  });

  it('trains with batch norm and a KL term too; a saved one scores the same', async () => {
    const train = plantedAnomalies(300, 6, 54, 0);
    const test = plantedAnomalies(200, 6, 55, 0.2);
    const m = new VariationalAutoEncoder({ ...small, seed: 6, normalization: 'batch', beta: 0.1 });
    await m.fit(train.X);
    expect(rocAuc(test.y, await m.score(test.X))).toBeGreaterThanOrEqual(0.9);
    const dir = await mkdtemp(join(tmpdir(), 'neural-vae-'));
    try {
      const manifest = await m.save(dir);
      expect(manifest.tensors['encoder.0.runningVar']).toMatchObject({ shape: [16] });
      expect(manifest.tensors['decoder.0.runningMean']).toMatchObject({ shape: [16] });
      const loaded = await VariationalAutoEncoder.load(dir);
      expect(Array.from(await loaded.score(test.X))).toEqual(Array.from(await m.score(test.X)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
