import { describe, expect, it } from 'vitest';
import {
  BAND_IDS,
  BAND_THRESHOLDS,
  bandRank,
  categorize,
  describeSeverity,
  getBand,
  isAnomalous,
  isInDocumentedGap,
  SEVERITY_BANDS,
} from './bands';
import { SeverityValidationError } from './errors';
import { clampToScale } from './validate';

describe('categorize', () => {
  it.each([
    [0, 'normal'],
    [0.2, 'normal'],
    [0.399999, 'normal'],
    [0.4, 'low'],
    [0.45, 'low'],
    [0.9, 'low'],
    [0.999999, 'low'],
    [1.0, 'medium'],
    [1.7999, 'medium'],
    [1.8, 'high'],
    [2.4, 'high'],
    [2.4999, 'high'],
    [2.5, 'critical'],
    [3.0, 'critical'],
  ] as const)('%s → %s', (value, band) => {
    expect(categorize(value)).toBe(band);
  });

  it.each([Number.NaN, -0.001, 3.000001, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'rejects %s with an error naming the field and the range',
    (value) => {
      expect(() => categorize(value)).toThrow(SeverityValidationError);
      expect(() => categorize(value)).toThrow(/value: expected a finite number in \[0, 3\]/);
    },
  );

  it('names the field it was given', () => {
    expect(() => categorize(4, 'energies[7]')).toThrow(/^energies\[7\]: expected/);
  });

  it('rejects non-numbers', () => {
    expect(() => categorize('1.0' as unknown as number)).toThrow(SeverityValidationError);
  });
});

describe('band definitions', () => {
  it('are contiguous from 0 to 3 and agree with the thresholds', () => {
    expect(SEVERITY_BANDS.map((b) => b.id)).toEqual([...BAND_IDS]);
    expect(SEVERITY_BANDS[0]!.min).toBe(0);
    for (let i = 1; i < SEVERITY_BANDS.length; i++) {
      expect(SEVERITY_BANDS[i]!.min).toBe(SEVERITY_BANDS[i - 1]!.max);
    }
    expect(SEVERITY_BANDS.at(-1)!.max).toBe(3);
    expect(SEVERITY_BANDS.at(-1)!.maxInclusive).toBe(true);
    expect([getBand('low').min, getBand('medium').min, getBand('high').min, getBand('critical').min]).toEqual(
      [BAND_THRESHOLDS.low, BAND_THRESHOLDS.medium, BAND_THRESHOLDS.high, BAND_THRESHOLDS.critical],
    );
  });

  it('each band holds its own documented range', () => {
    for (const band of SEVERITY_BANDS) {
      expect(categorize(band.documented.min)).toBe(band.id);
      expect(categorize(band.documented.max)).toBe(band.id === 'normal' ? 'low' : band.id); // 0.4 starts low
    }
  });

  it('describes each band', () => {
    expect(describeSeverity(2.8)).toMatch(/^Critical severity/);
    expect(describeSeverity(0.1)).toMatch(/^Normal/);
    expect(new Set(SEVERITY_BANDS.map((b) => b.description)).size).toBe(5);
  });

  it('ranks bands and rejects unknown ones', () => {
    expect(BAND_IDS.map(bandRank)).toEqual([0, 1, 2, 3, 4]);
    expect(() => bandRank('severe' as never)).toThrow(
      /band: expected one of normal, low, medium, high, critical/,
    );
    expect(() => getBand('severe' as never)).toThrow(SeverityValidationError);
  });

  it('flags the binary anomaly cut at 0.4', () => {
    expect(isAnomalous(0.39)).toBe(false);
    expect(isAnomalous(0.4)).toBe(true);
  });
});

describe('gaps between documented ranges', () => {
  it.each([
    [0.45, true, 'low'],
    [0.9, true, 'low'],
    [1.6, true, 'medium'],
    [2.4, true, 'high'],
    [0.3, false, 'normal'],
    [0.5, false, 'low'],
    [0.8, false, 'low'],
    [1.5, false, 'medium'],
    [2.3, false, 'high'],
    [2.5, false, 'critical'],
  ] as const)('%s: in gap %s, filed as %s', (value, gap, band) => {
    expect(isInDocumentedGap(value)).toBe(gap);
    expect(categorize(value)).toBe(band);
  });
});

describe('clampToScale', () => {
  it('clips unbounded energies and refuses NaN/Infinity', () => {
    expect(clampToScale(3.4)).toBe(3);
    expect(clampToScale(-0.2)).toBe(0);
    expect(clampToScale(1.23)).toBe(1.23);
    expect(() => clampToScale(Number.NaN)).toThrow(
      /energy: expected a number \(NaN means the model failed\)/,
    );
    expect(() => clampToScale(Number.POSITIVE_INFINITY)).toThrow(SeverityValidationError);
  });
});
