import { Matrix, NotFittedError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { ConditionalVAE, oneHotConditions } from './conditional-vae';
import { sensorChannels as channels, sensorSeries } from './sensor-series.fixture';
import { analyseSeries } from './series-analysis';
import { VariationalAutoEncoder } from './vae';
import { seriesWindows } from './windows';

const layout = { size: 10, channels };
const vae = { seed: 2, epochs: 30, encoderLayers: [32], decoderLayers: [32], latent: 4, learningRate: 3e-3 };

describe('analyseSeries', () => {
  it('reports the anomaly rate per series, the windows that drove it, their time ranges and top channels', async () => {
    const model = new VariationalAutoEncoder({ ...vae, contamination: 0.02 });
    await model.fit(seriesWindows(sensorSeries(1200, 1), layout).X);
    const times = Array.from({ length: 200 }, (_, t) => `t${t}`);
    const analysis = await analyseSeries(
      model,
      [
        { id: 'machine-1', values: sensorSeries(200, 11), times },
        // Its pressure drifts away from step 140.
        {
          id: 'machine-2',
          values: sensorSeries(200, 12, { channel: 1, from: 140, to: 200, size: 3 }),
          times,
        },
        { id: 'machine-3', values: sensorSeries(200, 13), times },
        { id: 'too-short', values: sensorSeries(5, 14) },
      ],
      { layout, topWindows: 3, topChannels: 2, attribution: 'gradient' },
    );
    expect(analysis.threshold).toBe(model.threshold!.value);
    expect(analysis.attribution).toBe('gradient');
    const [first, ...rest] = analysis.series;
    expect(first!.id).toBe('machine-2');
    expect(first!.windows).toBe(191);
    expect(first!.anomalyRate).toBeGreaterThan(0.2);
    expect(first!.anomalyRate).toBe(first!.flagged / 191);
    expect(first!.channels[0]!.channel).toBe('pressure');
    expect(first!.topWindows.length).toBe(3);
    for (const w of first!.topWindows) {
      expect(w.end - w.start).toBe(9);
      expect(w.end).toBeGreaterThanOrEqual(140);
      expect(w.startTime).toBe(`t${w.start}`);
      expect(w.endTime).toBe(`t${w.end}`);
      expect(w.flagged).toBe(true);
      expect(w.channels.length).toBe(2);
      expect(w.channels[0]!.channel).toBe('pressure');
    }
    const scores = first!.topWindows.map((w) => w.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(first!.maxScore).toBe(scores[0]);
    for (const r of rest.filter((s) => s.id.startsWith('machine'))) expect(r.anomalyRate).toBeLessThan(0.1);
    const short = analysis.series.find((s) => s.id === 'too-short')!;
    expect([short.windows, short.anomalyRate, short.topWindows.length]).toEqual([0, 0, 0]);
  });

  it('scores each series under its own condition with a ConditionalVAE', async () => {
    // The pump runs 2 higher under regime "high"; machine-3 is declared "high" but runs low.
    const raise = (S: Matrix) => {
      const out = S.clone();
      for (let t = 0; t < out.rows; t++) out.data[t * 4 + 2]! += 2;
      return out;
    };
    const low = seriesWindows(sensorSeries(1200, 1), layout).X;
    const high = seriesWindows(raise(sensorSeries(1200, 2)), layout).X;
    const regimes = [...Array(low.rows).fill('low'), ...Array(high.rows).fill('high')];
    const cats = ['high', 'low'];
    const model = new ConditionalVAE({ ...vae, contamination: 0.02 });
    await model.fit({
      X: Matrix.vstack([low, high]),
      conditions: oneHotConditions(regimes, cats).conditions,
    });
    const condition = (regime: string) => oneHotConditions([regime], cats).conditions;
    const perStep = oneHotConditions(
      Array.from({ length: 150 }, (_, t) => (t < 75 ? 'high' : 'low')),
      cats,
    ).conditions;
    const switching = sensorSeries(150, 24);
    for (let t = 0; t < 75; t++) switching.data[t * 4 + 2]! += 2;
    const analysis = await analyseSeries(
      model,
      [
        { id: 'machine-1', values: sensorSeries(150, 21), conditions: condition('low') },
        { id: 'machine-2', values: raise(sensorSeries(150, 22)), conditions: condition('high') },
        { id: 'machine-3', values: sensorSeries(150, 23), conditions: condition('high') },
        // Switches from high to low half-way; each window takes the regime of its last step.
        { id: 'machine-4', values: switching, conditions: perStep },
      ],
      { layout },
    );
    const rate = Object.fromEntries(analysis.series.map((s) => [s.id, s.anomalyRate]));
    expect(analysis.series[0]!.id).toBe('machine-3');
    expect(rate['machine-3']).toBeGreaterThan(0.9);
    expect(analysis.series[0]!.channels[0]!.channel).toBe('pump');
    for (const id of ['machine-1', 'machine-2']) expect(rate[id]).toBeLessThan(0.1);
    // Only the windows straddling the switch mix regimes (at most 9 of 141).
    expect(rate['machine-4']).toBeLessThan(0.1);
    await expect(
      analyseSeries(model, [{ id: 'x', values: sensorSeries(20, 1) }], { layout }),
    ).rejects.toMatchObject({
      field: 'series[0].conditions',
    });
    await expect(
      analyseSeries(model, [{ id: 'x', values: sensorSeries(20, 1), conditions: new Matrix(3, 2) }], {
        layout,
      }),
    ).rejects.toMatchObject({ field: 'series[0].conditions.rows' });
  });

  it('validates its input: options, duplicate ids, times, and a model without a threshold', async () => {
    const model = new VariationalAutoEncoder({ ...vae, epochs: 2 });
    await expect(analyseSeries(model, [], { layout })).rejects.toBeInstanceOf(NotFittedError);
    await model.fit(seriesWindows(sensorSeries(100, 1), layout).X);
    const s = { id: 'a', values: sensorSeries(30, 1) };
    await expect(analyseSeries(model, [s, s], { layout })).rejects.toMatchObject({ field: 'series[1].id' });
    await expect(analyseSeries(model, [{ ...s, times: [1, 2] }], { layout })).rejects.toMatchObject({
      field: 'series[0].times.length',
    });
    await expect(analyseSeries(model, [s], { layout, topWindows: -1 })).rejects.toMatchObject({
      field: 'options.topWindows',
    });
  });
});
