import { Matrix } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { ChannelNormalizer, interpolateGaps, slidingWindows, windowAt, windowsToMatrix } from './windows';

const series = Matrix.fromRows([
  [0, 10],
  [1, 11],
  [2, 12],
  [3, 13],
  [4, 14],
]);

describe('slidingWindows', () => {
  it('cuts windows of size rows every stride rows, channels interleaved', () => {
    const w = slidingWindows(series, { size: 3, stride: 2 });
    expect(w.count).toBe(2);
    expect(Array.from(w.starts)).toEqual([0, 2]);
    expect(windowAt(w, 1).toArrays()).toEqual([
      [2, 12],
      [3, 13],
      [4, 14],
    ]);
    const m = windowsToMatrix(w);
    expect([m.rows, m.cols]).toEqual([2, 6]);
    expect(Array.from(m.row(0))).toEqual([0, 10, 1, 11, 2, 12]);
    expect(slidingWindows(series, { size: 1 }).count).toBe(5);
    expect(slidingWindows(series, { size: 6 }).count).toBe(0);
  });

  it('names a bad size, stride or window', () => {
    expect(() => slidingWindows(series, { size: 0 })).toThrow(/options\.size/);
    expect(() => slidingWindows(series, { size: 2, stride: 1.5 })).toThrow(/options\.stride/);
    expect(() => windowAt(slidingWindows(series, { size: 2 }), 4)).toThrow(/\bw\b/);
  });
});

describe('interpolateGaps', () => {
  it('interpolates inner NaN runs linearly and holds the edges', () => {
    const s = Matrix.fromRows([
      [Number.NaN, 1],
      [2, Number.NaN],
      [Number.NaN, Number.NaN],
      [Number.NaN, 7],
      [8, Number.NaN],
    ]);
    const out = interpolateGaps(s);
    expect(out.toArrays()).toEqual([
      [2, 1],
      [2, 3],
      [4, 5],
      [6, 7],
      [8, 7],
    ]);
    expect(Number.isNaN(s.get(0, 0))).toBe(true); // input untouched
  });

  it('refuses an empty channel unless told what to use, and infinities', () => {
    const s = Matrix.fromRows([
      [1, Number.NaN],
      [2, Number.NaN],
    ]);
    expect(() => interpolateGaps(s)).toThrow(/channel 1/);
    expect(interpolateGaps(s, { emptyChannel: 0 }).getColumn(1)).toEqual(Float64Array.of(0, 0));
    expect(() => interpolateGaps(Matrix.fromRows([[Number.POSITIVE_INFINITY]]))).toThrow(/series\[0\]\[0\]/);
  });
});

describe('ChannelNormalizer', () => {
  it('z-scores each channel with statistics of the training data only', () => {
    const n = ChannelNormalizer.fit(series);
    const z = n.transform(series);
    expect(z.getColumn(0).reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
    expect(z.get(4, 0)).toBeCloseTo(2 / Math.sqrt(2), 12);
    expect(n.transform(Matrix.fromRows([[100, 10]])).get(0, 1)).toBeCloseTo(-2 / Math.sqrt(2), 12);
    expect(n.inverseTransform(z).toArrays()).toEqual(series.toArrays());
  });

  it('scales min–max, ignores NaN when fitting, and gives constant channels scale 1', () => {
    const s = Matrix.fromRows([
      [0, 5],
      [Number.NaN, 5],
      [10, 5],
    ]);
    const n = ChannelNormalizer.fit(s, 'minmax');
    const out = n.transform(s);
    expect(out.get(2, 0)).toBe(1);
    expect(Number.isNaN(out.get(1, 0))).toBe(true);
    expect(out.getColumn(1)).toEqual(Float64Array.of(0, 0, 0));
  });

  it('round-trips through JSON and validates what it loads', () => {
    const n = ChannelNormalizer.fit(series);
    const back = ChannelNormalizer.fromJSON(JSON.parse(JSON.stringify(n)));
    expect(back.transform(series).toArrays()).toEqual(n.transform(series).toArrays());
    expect(() => ChannelNormalizer.fromJSON({ ...n.toJSON(), scale: [1, 0] })).toThrow(
      /normalizer\.scale\[1\]/,
    );
    expect(() => ChannelNormalizer.fromJSON({ ...n.toJSON(), scale: [1] })).toThrow(/normalizer\.scale/);
    expect(() => ChannelNormalizer.fromJSON({ kind: 'other' })).toThrow(/normalizer\.kind/);
    expect(() => n.transform(Matrix.fromRows([[1]]))).toThrow(/series\.cols/);
    expect(() => ChannelNormalizer.fit(Matrix.fromRows([[Number.NaN]]))).toThrow(/channel 0/);
  });
});
