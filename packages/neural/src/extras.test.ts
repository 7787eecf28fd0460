import { Matrix, NotFittedError, ValidationError } from '@anomalia/core';
import { plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { selectMostUncertain } from './active-learning';
import { AutoEncoder } from './autoencoder';
import { EnergyModel } from './energy-model';
import { tf } from './engine';
import { Ensemble } from './ensemble';
import { VariationalAutoEncoder } from './vae';

const ebm = { epochs: 10, learningRate: 3e-3, hiddenLayers: [16, 8] };
const ae = { epochs: 10, hiddenLayers: [12, 6, 3], learningRate: 3e-3 };
const vae = { epochs: 10, encoderLayers: [12], decoderLayers: [12], latent: 2, learningRate: 3e-3 };

describe('determinism on the wasm and cpu backends', () => {
  const train = plantedAnomalies(160, 5, 61, 0.3);
  const test = plantedAnomalies(60, 5, 62, 0.2);
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [name, make, supervised] of [
      ['EnergyModel', (s: number) => new EnergyModel({ ...ebm, seed: s, backend }), true],
      ['AutoEncoder', (s: number) => new AutoEncoder({ ...ae, seed: s, backend }), false],
      [
        'VariationalAutoEncoder',
        (s: number) => new VariationalAutoEncoder({ ...vae, seed: s, backend }),
        false,
      ],
    ] as const) {
      it(`${name} on ${backend}: same seed, same scores; another seed, other scores`, async () => {
        const run = async (seed: number) => {
          const m = make(seed);
          const report = await m.fit(train.X, { y: supervised ? train.y : undefined });
          expect(report.backend).toBe(backend);
          return Array.from(await m.score(test.X));
        };
        const a = await run(5);
        expect(await run(5)).toEqual(a);
        expect(await run(6)).not.toEqual(a);
      });
    }
  }
});

describe('training memory', () => {
  it('keeps the tensor count stable across epochs and frees everything after fit', async () => {
    const d = plantedAnomalies(200, 5, 63, 0.3);
    const counts: number[] = [];
    const m = new EnergyModel({ ...ebm, epochs: 6, backend: 'wasm' });
    const before = tf.memory().numTensors;
    await m.fit(d.X, { y: d.y, onProgress: () => counts.push(tf.memory().numTensors) });
    expect(counts.length).toBe(6);
    expect(new Set(counts.slice(1)).size).toBe(1);
    m.releaseDevice();
    // Cached constant tensors may be created once on first use; nothing else remains.
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(0);
  });

  it('keeps it stable with batch norm too: running statistics replaced each step, freed after fit', async () => {
    const d = plantedAnomalies(200, 5, 64, 0.1);
    const counts: number[] = [];
    const m = new AutoEncoder({
      ...ae,
      normalization: 'batch',
      epochs: 5,
      validationFraction: 0.1,
      backend: 'wasm',
    });
    const before = tf.memory().numTensors;
    await m.fit(d.X, { onProgress: () => counts.push(tf.memory().numTensors) });
    expect(counts.length).toBe(5);
    // The best checkpoint (parameters and statistics) is replaced, not accumulated.
    expect(Math.max(...counts.slice(1)) - Math.min(...counts.slice(1))).toBeLessThanOrEqual(0);
    m.releaseDevice();
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(0);
  });
});

describe('uncertainty, ensembles, saliency, active learning', () => {
  const train = plantedAnomalies(200, 5, 71, 0.3);
  const test = plantedAnomalies(80, 5, 72, 0.2);

  it('MC dropout gives per-row mean, std and ordered quantiles, reproducibly', async () => {
    const m = new EnergyModel({ ...ebm, seed: 1 });
    await m.fit(train.X, { y: train.y });
    const u = await m.predictWithUncertainty(test.X, { passes: 20, seed: 3 });
    expect(u.mean.length).toBe(test.X.rows);
    for (let i = 0; i < test.X.rows; i++) {
      expect(u.q05[i]!).toBeLessThanOrEqual(u.q50[i]!);
      expect(u.q50[i]!).toBeLessThanOrEqual(u.q95[i]!);
      expect(u.std[i]!).toBeGreaterThanOrEqual(0);
    }
    expect(u.std.some((s) => s > 0)).toBe(true);
    const again = await m.predictWithUncertainty(test.X, { passes: 20, seed: 3 });
    expect(Array.from(again.std)).toEqual(Array.from(u.std));
    await expect(m.predictWithUncertainty(test.X, { passes: 1 })).rejects.toMatchObject({ field: 'passes' });
  });

  it('active learning picks the rows with the largest MC-dropout spread', async () => {
    const m = new AutoEncoder({ ...ae, seed: 2 });
    await m.fit(train.X);
    const { indices, std } = await selectMostUncertain(m, test.X, 5, { passes: 10, seed: 1 });
    expect(indices.length).toBe(5);
    for (let k = 1; k < 5; k++) expect(std[k - 1]!).toBeGreaterThanOrEqual(std[k]!);
    const all = await m.predictWithUncertainty(test.X, { passes: 10, seed: 1 });
    const max = Math.max(...all.std);
    expect(std[0]).toBe(max);
    await expect(selectMostUncertain(m, test.X, 0)).rejects.toBeInstanceOf(ValidationError);
  });

  it('an ensemble averages energies, votes and reports agreement', async () => {
    const ens = new Ensemble((seed) => new EnergyModel({ ...ebm, seed }), { size: 3 });
    await ens.fit(train.X, { y: train.y });
    await expect(ens.predict(test.X)).rejects.toBeInstanceOf(NotFittedError);
    const validation = plantedAnomalies(80, 5, 73, 0.3);
    const thresholds = await ens.fitThreshold({ strategy: 'max-f1' }, validation.X, {
      y: validation.y,
      split: 'validation',
    });
    expect(thresholds.map((t) => t.split)).toEqual(['validation', 'validation', 'validation']);
    const s = await ens.scoreAll(test.X);
    expect(s.members.length).toBe(3);
    const i = 4;
    expect(s.mean[i]).toBeCloseTo((s.members[0]![i]! + s.members[1]![i]! + s.members[2]![i]!) / 3, 10);
    for (let r = 0; r < test.X.rows; r++)
      expect([1 / 3, 2 / 3, 1].map((v) => Math.max(v, 1 - v))).toContain(s.agreement[r]);
    const votes = await ens.predict(test.X);
    expect(votes.length).toBe(test.X.rows);
    expect(() => new Ensemble((seed) => new EnergyModel({ seed }), { size: 1 })).toThrow(ValidationError);
  });

  it('gradient saliency ranks the feature that drives the score first', async () => {
    // Anomalies differ only in feature 2.
    const X = new Matrix(300, 4);
    const y = new Float64Array(300);
    for (let i = 0; i < 300; i++) {
      y[i] = i % 3 === 0 ? 1 : 0;
      for (let j = 0; j < 4; j++) X.set(i, j, Math.sin(i * (j + 1)) + (j === 2 && y[i] ? 4 : 0));
    }
    const m = new EnergyModel({ ...ebm, epochs: 25, seed: 3 });
    await m.fit(X, { y, featureNames: ['a', 'b', 'c', 'd'] });
    const { importance, perRow, featureNames } = await m.featureImportance(X);
    expect(featureNames).toEqual(['a', 'b', 'c', 'd']);
    expect([perRow.rows, perRow.cols]).toEqual([300, 4]);
    const top = importance.indexOf(Math.max(...importance));
    expect(top).toBe(2);
    const times = await m.featureImportance(X, { timesInput: true });
    expect(times.importance.length).toBe(4);
  });

  it('the VAE supports MC dropout and saliency through encoder, latent and decoder', async () => {
    const m = new VariationalAutoEncoder({ ...vae, seed: 4 });
    await m.fit(plantedAnomalies(150, 5, 73, 0).X);
    const u = await m.predictWithUncertainty(test.X, { passes: 5 });
    expect(u.mean.every(Number.isFinite)).toBe(true);
    const { importance } = await m.featureImportance(test.X);
    expect(importance.every((v) => v > 0)).toBe(true);
  });
});
