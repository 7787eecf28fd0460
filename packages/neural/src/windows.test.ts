import { Matrix, ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { channelOfFeature, featureIndex, parseWindowLayout, seriesWindows, sumOverTime } from './windows';

// 5 steps × 2 channels: value = 10·step + channel.
const series = Matrix.fromRows(Array.from({ length: 5 }, (_, t) => [10 * t, 10 * t + 1]));

describe('seriesWindows', () => {
  it('flattens time-major: step by step, each step with its channels', () => {
    const { X, starts } = seriesWindows(series, { size: 3, channels: ['a', 'b'] });
    expect(Array.from(starts)).toEqual([0, 1, 2]);
    expect(X.toArrays()).toEqual([
      [0, 1, 10, 11, 20, 21],
      [10, 11, 20, 21, 30, 31],
      [20, 21, 30, 31, 40, 41],
    ]);
  });

  it('flattens channel-major: each channel trace in turn, with a stride', () => {
    const { X, starts } = seriesWindows(series, { size: 3, channels: ['a', 'b'], order: 'channel-major' }, 2);
    expect(Array.from(starts)).toEqual([0, 2]);
    expect(X.toArrays()).toEqual([
      [0, 10, 20, 1, 11, 21],
      [20, 30, 40, 21, 31, 41],
    ]);
  });

  it('has no window for a series shorter than one', () => {
    expect(seriesWindows(series, { size: 6, channels: ['a', 'b'] }).X.rows).toBe(0);
  });

  it('maps features to channels in both layouts, consistently with the windows', () => {
    for (const order of ['time-major', 'channel-major'] as const) {
      const layout = parseWindowLayout({ size: 3, channels: ['a', 'b'], order });
      const { X } = seriesWindows(series, layout);
      for (let t = 0; t < 3; t++) {
        for (let c = 0; c < 2; c++) {
          const j = featureIndex(layout, t, c);
          expect(channelOfFeature(layout, j)).toBe(c);
          expect(X.get(1, j)).toBe(10 * (t + 1) + c);
        }
      }
      const sums = sumOverTime(X, layout);
      expect(sums.toArrays()[0]).toEqual([0 + 10 + 20, 1 + 11 + 21]);
    }
  });

  it('refuses a series with other channels, duplicate names, a bad stride and a layout of another width', () => {
    expect(() => seriesWindows(new Matrix(5, 3), { size: 2, channels: ['a', 'b'] })).toThrow(
      expect.objectContaining({ field: 'series.cols' }) as unknown as Error,
    );
    expect(() => parseWindowLayout({ size: 2, channels: ['a', 'a'] })).toThrow(
      expect.objectContaining({ field: 'layout.channels' }) as unknown as Error,
    );
    expect(() => parseWindowLayout({ size: 0, channels: ['a'] })).toThrow(ValidationError);
    expect(() => seriesWindows(series, { size: 2, channels: ['a', 'b'] }, 0)).toThrow(
      expect.objectContaining({ field: 'stride' }) as unknown as Error,
    );
    expect(() => sumOverTime(new Matrix(1, 5), parseWindowLayout({ size: 2, channels: ['a', 'b'] }))).toThrow(
      expect.objectContaining({ field: 'layout' }) as unknown as Error,
    );
  });
});
