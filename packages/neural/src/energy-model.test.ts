import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, NotFittedError, Rng, rocAuc, ValidationError } from '@anomalia/core';
import { conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { EnergyModel } from './energy-model';

const small = { epochs: 15, learningRate: 3e-3, hiddenLayers: [16, 8], batchSize: 32 };

describe('EnergyModel conformance', () => {
  for (const c of conformanceChecks({
    create: (seed) => new EnergyModel({ ...small, seed }),
    load: (dir) => EnergyModel.load(dir),
    supervised: true,
  })) {
    it(c.name, c.run);
  }
});

/** Severity-graded data: normal rows target 0, anomalies a severity that grows with their distance. */
function severityData(rows: number, seed: number) {
  const rng = new Rng(seed);
  const X = new Matrix(rows, 6);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const anomalous = rng.random() < 0.4;
    const sev = anomalous ? rng.uniform(0.5, 3) : 0;
    y[i] = sev;
    for (let j = 0; j < 6; j++) X.set(i, j, rng.normal() + (j < 2 ? sev * 2 : 0));
  }
  return { X, y };
}

describe('EnergyModel', () => {
  it('learns severities (energy ≈ severity) and separates anomalies; threshold and calibration are explicit steps on the held-out split', async () => {
    const train = severityData(400, 1);
    const test = severityData(200, 2);
    const m = new EnergyModel({ ...small, epochs: 40, seed: 4 });
    const report = await m.fit(train.X, { y: train.y });
    expect(report.history.length).toBe(report.epochsRun);
    expect(report.history[0]).toHaveProperty('loss');
    expect(report.history[0]).toHaveProperty('val_mae');
    expect(report.validationRows).toBe(80);
    // fit chooses no threshold and no calibration: both are the caller's explicit steps.
    expect(m.threshold).toBeNull();
    expect(m.calibrator).toBeNull();
    const held = m.heldOutRows!;
    expect(held.length).toBe(80);
    const val = {
      X: train.X.selectRows(held),
      labels: m.anomalyLabels(Array.from(held, (i) => train.y[i]!)),
    };
    await m.fitThreshold({ strategy: 'max-f1' }, val.X, { y: val.labels, split: 'validation' });
    await m.calibrate(val.X, val.labels, 'platt');
    const E = await m.score(test.X);
    const labels = test.y.map((v) => (v >= 0.4 ? 1 : 0));
    expect(rocAuc(labels, E)).toBeGreaterThanOrEqual(0.95);
    let mae = 0;
    for (let i = 0; i < E.length; i++) mae += Math.abs(E[i]! - test.y[i]!) / E.length;
    expect(mae).toBeLessThan(0.6);
    expect(m.threshold?.split).toBe('validation');
    expect(m.threshold?.strategy.strategy).toBe('max-f1');
    // Calibrated on the validation split: not a sigmoid of the energy.
    const p = await m.predictProba(test.X);
    const sigmoid = Array.from(E, (e) => 1 / (1 + Math.exp(-e)));
    expect(Array.from(p)).not.toEqual(sigmoid);
    expect(m.calibrator?.method).toBe('platt');
  });

  it('trains the contrastive margin objective with 0/1 labels and early-stops on F1', async () => {
    const train = plantedAnomalies(300, 5, 21, 0.3);
    const test = plantedAnomalies(150, 5, 22, 0.2);
    const m = new EnergyModel({ ...small, objective: 'contrastive', seed: 2 });
    const report = await m.fit(train.X, { y: train.y });
    expect(report.history.at(-1)).toHaveProperty('val_f1');
    expect(rocAuc(test.y, await m.score(test.X))).toBeGreaterThanOrEqual(0.95);
    const held = m.heldOutRows!;
    await m.calibrate(
      train.X.selectRows(held),
      m.anomalyLabels(Array.from(held, (i) => train.y[i]!)),
      'isotonic',
    );
    expect(m.calibrator?.method).toBe('isotonic');
  });

  it('rejects missing or out-of-range targets, naming the field', async () => {
    const d = plantedAnomalies(50, 3, 1, 0.3);
    await expect(new EnergyModel(small).fit(d.X)).rejects.toMatchObject({ field: 'y' });
    const bad = d.y.slice();
    bad[3] = 7;
    await expect(new EnergyModel(small).fit(d.X, { y: bad })).rejects.toMatchObject({ field: 'y[3]' });
    await expect(
      new EnergyModel({ ...small, objective: 'contrastive' }).fit(d.X, { y: d.y.map((v) => v * 2) }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(() => new EnergyModel({ hiddenLayers: [0] })).toThrow(ValidationError);
    expect(() => new EnergyModel({ learningRate: -1 } as never)).toThrow(/params.learningRate/);
    expect(() => new EnergyModel({ unknownOption: 1 } as never)).toThrow(ValidationError);
  });

  it('fine-tunes from a saved artifact at a lower learning rate', async () => {
    const first = plantedAnomalies(200, 4, 31, 0.3);
    const m = new EnergyModel({ ...small, seed: 9 });
    await m.fit(first.X, { y: first.y });
    const firstHeld = m.heldOutRows!;
    await m.fitThreshold({ strategy: 'max-f1' }, first.X.selectRows(firstHeld), {
      y: m.anomalyLabels(Array.from(firstHeld, (i) => first.y[i]!)),
      split: 'validation',
    });
    const dir = await mkdtemp(join(tmpdir(), 'neural-ft-'));
    try {
      const manifest = await m.save(dir);
      expect(manifest.state.backend).toBe(m.trainedBackend?.backend);
      expect(['wasm', 'cpu', 'tensorflow']).toContain(manifest.state.backend);
      expect(manifest.tensors['energy.0.W']).toMatchObject({ dtype: 'float32', shape: [4, 16] });
      const loaded = await EnergyModel.load(dir);
      expect(loaded.trainedBackend).toEqual(m.trainedBackend);
      expect(loaded.threshold).toEqual(m.threshold);
      expect(Array.from(await loaded.score(first.X))).toEqual(Array.from(await m.score(first.X)));
      const before = await loaded.score(first.X);
      const more = plantedAnomalies(200, 4, 32, 0.3);
      const report = await loaded.fineTune(more.X, { y: more.y, epochs: 3 });
      expect(report.epochsRun).toBeGreaterThan(0);
      const after = await loaded.score(first.X);
      expect(Array.from(after)).not.toEqual(Array.from(before));
      // The scores moved: the old threshold is dropped, and chosen again on a held-out split.
      expect(loaded.threshold).toBeNull();
      const held = loaded.heldOutRows!;
      const val = more.X.selectRows(held);
      await loaded.fitThreshold({ strategy: 'max-f1' }, val, {
        y: loaded.anomalyLabels(Array.from(held, (i) => more.y[i]!)),
        split: 'validation',
      });
      expect(loaded.threshold?.split).toBe('validation');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await expect(new EnergyModel(small).fineTune(first.X, { y: first.y })).rejects.toBeInstanceOf(
      NotFittedError,
    );
  });
});
