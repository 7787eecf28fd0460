import { rocAuc } from '@anomalia/core';
import { conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { AutoEncoder } from './autoencoder';

const small = { epochs: 15, encoderLayers: [16, 8], bottleneck: 3, learningRate: 3e-3 };

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
    expect(report.history[0]).toHaveProperty('val_loss');
    expect(report.validationRows).toBe(40);
    expect(rocAuc(test.y, await m.score(test.X))).toBeGreaterThanOrEqual(0.95);
    expect(m.threshold?.strategy).toEqual({ strategy: 'contamination', contamination: 0.05 });
    const flagged = (await m.predict(train.X)).reduce((a, b) => a + b, 0);
    expect(flagged).toBeGreaterThan(10);
    expect(flagged).toBeLessThan(30);
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

  it('follows the seed architecture: mirrored decoder, no dropout at the bottleneck by default', () => {
    const m = new AutoEncoder();
    const nets = (
      m as unknown as {
        buildNetworks(i: number): Array<{ layers: Array<{ outputs: number; dropout: number }> }>;
      }
    ).buildNetworks(87);
    expect(nets[0]!.layers.map((l) => l.outputs)).toEqual([64, 32, 16, 8, 16, 32, 64, 87]);
    expect(nets[0]!.layers.map((l) => l.dropout)).toEqual([0.2, 0.2, 0.2, 0, 0.2, 0.2, 0.2, 0]);
  });
});
