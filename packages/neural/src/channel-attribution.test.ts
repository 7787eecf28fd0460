import type { Matrix } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { AutoEncoder } from './autoencoder';
import { attributeChannels, rankChannels } from './channel-attribution';
import { ConditionalVAE, oneHotConditions } from './conditional-vae';
import { sensorChannels as channels, sensorSeries } from './sensor-series.fixture';
import { VariationalAutoEncoder } from './vae';
import { seriesWindows } from './windows';

// The AutoEncoder's default architecture.
const ae = { seed: 2, epochs: 30, learningRate: 3e-3 };
const vae = { seed: 2, epochs: 30, encoderLayers: [32], decoderLayers: [32], latent: 4, learningRate: 3e-3 };

describe('attributeChannels', () => {
  const train = sensorSeries(1200, 1);
  // The pump drifts by up to 3 (its normal amplitude is 0.5) in the second half.
  const faulty = sensorSeries(200, 2, { channel: 2, from: 100, to: 200, size: 3 });

  for (const order of ['time-major', 'channel-major'] as const) {
    const layout = { size: 10, channels, order };
    const late = (X: Matrix, starts: Int32Array) =>
      X.selectRows(Int32Array.from(starts.keys()).filter((w) => starts[w]! >= 150));

    for (const [name, make] of [
      ['AutoEncoder', () => new AutoEncoder(ae)],
      ['VariationalAutoEncoder', () => new VariationalAutoEncoder(vae)],
    ] as const) {
      it(`${name}, ${order}: both methods rank the drifting channel first`, async () => {
        const model = make();
        await model.fit(seriesWindows(train, layout).X);
        const { X, starts } = seriesWindows(faulty, layout);
        const windows = late(X, starts);
        for (const method of ['reconstruction', 'gradient'] as const) {
          const a = await attributeChannels(model, windows, layout, method);
          expect(a.ranking[0]!.channel, `${method}: ${JSON.stringify(a.ranking)}`).toBe('pump');
          expect(a.ranking[0]!.share).toBeGreaterThan(0.4);
          expect([a.perWindow.rows, a.perWindow.cols]).toEqual([windows.rows, 4]);
          expect(a.ranking.reduce((s, c) => s + c.share, 0)).toBeCloseTo(1, 10);
        }
      });
    }
  }

  it('reconstruction attribution is the score of a VAE without latent term, split by channel', async () => {
    const layout = { size: 10, channels };
    const model = new VariationalAutoEncoder({ ...vae, alpha: 0 });
    await model.fit(seriesWindows(train, layout).X);
    const { X } = seriesWindows(faulty, layout);
    const a = await attributeChannels(model, X, layout, 'reconstruction');
    const s = await model.score(X);
    // score = mean squared error / its training mean: proportional to the sum over channels.
    const ratio = (i: number) => s[i]! / a.perWindow.row(i).reduce((x, y) => x + y, 0);
    for (const i of [0, 57, 120, X.rows - 1]) expect(ratio(i) / ratio(1)).toBeCloseTo(1, 4);
  });

  it('works for a ConditionalVAE, whose condition decides which channel is out of line', async () => {
    // Under regime "high" the pump runs at +2; a pump at 0 is the fault there, not under "low".
    const layout = { size: 10, channels };
    const trainWindows = seriesWindows(train, layout).X;
    const regimes = Array.from({ length: trainWindows.rows }, (_, i) => (i % 2 === 0 ? 'low' : 'high'));
    for (let i = 0; i < trainWindows.rows; i++) {
      if (regimes[i] !== 'high') continue;
      for (let t = 0; t < 10; t++) trainWindows.data[i * 40 + t * 4 + 2]! += 2;
    }
    const m = new ConditionalVAE({ ...vae, epochs: 40 });
    await m.fit({ X: trainWindows, conditions: oneHotConditions(regimes, ['high', 'low']).conditions });
    const normalLow = seriesWindows(sensorSeries(120, 5), layout).X;
    const asHigh = {
      X: normalLow,
      conditions: oneHotConditions(Array(normalLow.rows).fill('high'), ['high', 'low']).conditions,
    };
    for (const method of ['reconstruction', 'gradient'] as const) {
      const a = await attributeChannels(m, asHigh, layout, method);
      expect(a.ranking[0]!.channel, `${method}: ${JSON.stringify(a.ranking)}`).toBe('pump');
    }
  });

  it('ranks ties in series order, refuses a layout of another width and an unknown method', async () => {
    expect(rankChannels([1, 3, 3, 0], channels).map((c) => c.channel)).toEqual([
      'pressure',
      'pump',
      'temperature',
      'flow',
    ]);
    expect(rankChannels([0, 0], ['a', 'b']).map((c) => c.share)).toEqual([0, 0]);
    const model = new AutoEncoder({ ...ae, epochs: 2 });
    await model.fit(seriesWindows(train, { size: 10, channels }).X);
    const windows = seriesWindows(train, { size: 10, channels }).X;
    await expect(attributeChannels(model, windows, { size: 4, channels })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'layout',
    });
    await expect(
      attributeChannels(model, windows, { size: 10, channels }, 'shap' as 'gradient'),
    ).rejects.toMatchObject({ field: 'method' });
  });
});
