import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError, Matrix, rocAuc } from '@anomalia/core';
import { conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { AutoEncoder } from './autoencoder';
import type { LayerSpec } from './network';

const small = { epochs: 15, hiddenLayers: [16, 8, 3], learningRate: 3e-3 };

describe('AutoEncoder conformance', () => {
  for (const c of conformanceChecks({
    create: (seed) => new AutoEncoder({ ...small, seed }),
    load: (dir) => AutoEncoder.load(dir),
  })) {
    it(c.name, c.run);
  }
});

describe('AutoEncoder', () => {
  it('separates injected anomalies, threshold at the contamination percentile of training errors', async () => {
    const train = plantedAnomalies(400, 6, 41, 0.05);
    const test = plantedAnomalies(200, 6, 42, 0.2);
    const m = new AutoEncoder({ ...small, seed: 1, contamination: 0.05 });
    const report = await m.fit(train.X);
    // PyOD's default: no validation split, every row trained on.
    expect(report.validationRows).toBe(0);
    expect(report.trainRows).toBe(400);
    expect(rocAuc(test.y, await m.score(test.X))).toBeGreaterThanOrEqual(0.95);
    expect(m.threshold?.strategy).toEqual({ strategy: 'contamination', contamination: 0.05 });
    const flagged = (await m.predict(train.X)).reduce((a, b) => a + b, 0);
    expect(flagged).toBeGreaterThan(10);
    expect(flagged).toBeLessThan(30);
  });

  it('holds out a validation split for early stopping when asked', async () => {
    const train = plantedAnomalies(400, 6, 41, 0.05);
    const m = new AutoEncoder({ ...small, seed: 1, validationFraction: 0.1 });
    const report = await m.fit(train.X);
    expect(report.history[0]).toHaveProperty('val_loss');
    expect(report.validationRows).toBe(40);
    expect(m.heldOutRows?.length).toBe(40);
  });

  it('gives per-feature reconstruction errors that average to the score', async () => {
    const d = plantedAnomalies(200, 4, 43, 0);
    const m = new AutoEncoder({ ...small, seed: 2 });
    await m.fit(d.X);
    const errors = await m.reconstructionErrors(d.X);
    expect([errors.rows, errors.cols]).toEqual([200, 4]);
    const s = await m.score(d.X);
    for (const i of [0, 17, 199]) {
      const mean = (errors.get(i, 0) + errors.get(i, 1) + errors.get(i, 2) + errors.get(i, 3)) / 4;
      expect(mean).toBeCloseTo(s[i]!, 4);
    }
  });

  it("builds PyOD's blocks with the deeper code: d → 64 → 32 → 16 → 8 → 16 → 32 → 64 → d", () => {
    const m = new AutoEncoder();
    const nets = (
      m as unknown as {
        buildNetworks(i: number): Array<{ layers: LayerSpec[] }>;
      }
    ).buildNetworks(87);
    const layers = nets[0]!.layers;
    expect(layers.map((l) => l.outputs)).toEqual([64, 32, 16, 8, 16, 32, 64, 87]);
    // Every hidden block: Linear → batch norm → ReLU → dropout 0.2 (PyOD's LinearBlock).
    expect(layers.map((l) => l.dropout)).toEqual([0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0]);
    expect(layers.map((l) => l.batchNorm)).toEqual([true, true, true, true, true, true, true, false]);
    expect(layers.every((l) => !l.norm)).toBe(true);
    expect(layers.map((l) => l.activation)).toEqual([...Array(7).fill('relu'), 'linear']);
    expect(layers.map((l) => l.init)).toEqual([...Array(7).fill('kaiming-uniform'), 'linear']);
    expect(m.params).toMatchObject({
      hiddenLayers: [64, 32, 16, 8],
      normalization: 'batch',
      epochs: 10,
      batchSize: 32,
      dropout: 0.2,
      learningRate: 1e-3,
      weightDecay: 1e-5,
      validationFraction: 0,
      scaler: 'standard',
    });
  });

  it('saves the batch-norm running statistics; a loaded model scores the same, in every normalisation', async () => {
    const d = plantedAnomalies(300, 6, 44, 0.05);
    for (const normalization of ['batch', 'layer', 'none'] as const) {
      const m = new AutoEncoder({ ...small, seed: 3, normalization });
      await m.fit(d.X);
      const dir = await mkdtemp(join(tmpdir(), 'neural-ae-'));
      try {
        const manifest = await m.save(dir);
        const stats = Object.keys(manifest.tensors).filter((k) => /running(Mean|Var)$/.test(k));
        expect(stats.length).toBe(normalization === 'batch' ? 10 : 0);
        if (normalization === 'batch') {
          expect(manifest.tensors['autoencoder.0.runningMean']).toMatchObject({
            dtype: 'float32',
            shape: [16],
          });
          expect(manifest.tensors['autoencoder.2.runningVar']).toMatchObject({
            dtype: 'float32',
            shape: [3],
          });
        }
        const loaded = await AutoEncoder.load(dir);
        expect(Array.from(await loaded.score(d.X))).toEqual(Array.from(await m.score(d.X)));
        if (normalization === 'batch') {
          // Fine-tuning continues from the saved running statistics (and moves them).
          const before = await loaded.score(d.X);
          await loaded.fineTune(d.X, { epochs: 1 });
          expect(Array.from(await loaded.score(d.X))).not.toEqual(Array.from(before));
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  it('refuses an artifact whose running variance is negative, naming the tensor', async () => {
    const d = plantedAnomalies(100, 4, 45, 0);
    const m = new AutoEncoder({ ...small, seed: 4, epochs: 2 });
    await m.fit(d.X);
    // A writer that got the statistics wrong: the model itself never produces this.
    (m as unknown as { runningStats: Float32Array }).runningStats[16] = -1;
    const dir = await mkdtemp(join(tmpdir(), 'neural-ae-'));
    try {
      await m.save(dir);
      const err = await AutoEncoder.load(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArtifactError);
      expect(String((err as Error).message)).toMatch(/tensors\.autoencoder\.0\.runningVar/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("standardises inside the model (PyOD's preprocessing): per-column affine rescaling of the input changes nothing", async () => {
    const d = plantedAnomalies(300, 5, 46, 0.05);
    const a = [0.01, 3, 250, 1, 0.5];
    const c = [5, -2, 1000, 0, 0.25];
    const scaled = new Matrix(d.X.rows, d.X.cols);
    for (let i = 0; i < d.X.rows; i++)
      for (let j = 0; j < d.X.cols; j++) scaled.set(i, j, d.X.get(i, j) * a[j]! + c[j]!);
    const m1 = new AutoEncoder({ ...small, seed: 5 });
    const m2 = new AutoEncoder({ ...small, seed: 5 });
    await m1.fit(d.X);
    await m2.fit(scaled);
    const s1 = await m1.score(d.X);
    const s2 = await m2.score(scaled);
    for (let i = 0; i < s1.length; i++) expect(s2[i]!).toBeCloseTo(s1[i]!, 3);
    // The standardiser: mean and population standard deviation of all training rows, in the artifact.
    const state = m1.scaler!.toJSON();
    expect(state.kind).toBe('standard');
    const col = d.X.getColumn(2);
    const mean = col.reduce((x, y) => x + y, 0) / col.length;
    const std = Math.sqrt(col.reduce((x, y) => x + (y - mean) ** 2, 0) / col.length);
    expect(state.center[2]).toBeCloseTo(mean, 10);
    expect(state.scale[2]).toBeCloseTo(std, 10);
  });
});
