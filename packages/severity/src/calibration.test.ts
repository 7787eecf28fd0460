import { describe, expect, it } from 'vitest';
import { calibrationCheck, formatCalibrationReport } from './calibration';
import { SeverityValidationError } from './errors';

/** One sample per documented band centre, predicted exactly: perfect calibration. */
const TRUE = [0.2, 0.2, 0.6, 0.7, 1.2, 1.3, 2.0, 2.1, 2.7, 2.9];

describe('calibrationCheck', () => {
  it('passes a well-calibrated model, with per-band means and separations', () => {
    const predicted = TRUE.map((t) => t + 0.05);
    const report = calibrationCheck(predicted, TRUE);
    expect(report.n).toBe(10);
    expect(report.mae).toBeCloseTo(0.05, 12);
    expect(report.categoryAccuracy).toBe(1);
    expect(report.binaryAccuracy).toBe(1);
    expect(report.perBand.normal).toEqual({ count: 2, meanEnergy: expect.closeTo(0.25, 12) });
    expect(report.perBand.critical.meanEnergy).toBeCloseTo(2.85, 12);
    expect(report.separations.criticalHigh).toBeCloseTo(2.8 - 2.05, 12);
    expect(report.separations.lowNormal).toBeCloseTo(0.65 - 0.2, 12);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['mae', 'pass'],
      ['categoryAccuracy', 'pass'],
      ['binaryAccuracy', 'pass'],
      ['separation.criticalHigh', 'pass'],
      ['separation.highMedium', 'pass'],
      ['separation.mediumLow', 'pass'],
      ['separation.lowNormal', 'pass'],
    ]);
    expect(report.pass).toBe(true);
  });

  it('fails MAE, category and binary accuracy for a model that outputs one constant', () => {
    const report = calibrationCheck(
      TRUE.map(() => 1.0),
      TRUE,
    );
    const status = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    expect(status.mae).toBe('fail');
    expect(status.categoryAccuracy).toBe('fail');
    expect(status.binaryAccuracy).toBe('fail');
    expect(status['separation.criticalHigh']).toBe('fail'); // 0 separation
    expect(report.categoryAccuracy).toBeCloseTo(0.2, 12);
    expect(report.binaryAccuracy).toBeCloseTo(0.8, 12);
    expect(report.pass).toBe(false);
  });

  it('applies strict comparisons at the targets', () => {
    // category accuracy of exactly 90 % is not "> 90 %"
    const truth = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6];
    const predicted = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    const report = calibrationCheck(predicted, truth);
    expect(report.categoryAccuracy).toBeCloseTo(0.9, 12);
    expect(report.checks.find((c) => c.name === 'categoryAccuracy')!.status).toBe('fail');
  });

  it('reports empty bands as null/empty, not 0, and does not pass', () => {
    const report = calibrationCheck([0.1, 0.2, 2.8], [0.1, 0.2, 2.9]);
    expect(report.perBand.low).toEqual({ count: 0, meanEnergy: null });
    expect(report.perBand.high).toEqual({ count: 0, meanEnergy: null });
    expect(report.separations.criticalHigh).toBeNull();
    expect(report.separations.lowNormal).toBeNull();
    const empty = report.checks.filter((c) => c.status === 'empty').map((c) => c.name);
    expect(empty).toEqual([
      'separation.criticalHigh',
      'separation.highMedium',
      'separation.mediumLow',
      'separation.lowNormal',
    ]);
    expect(report.checks.filter((c) => c.status === 'pass').map((c) => c.name)).toEqual([
      'mae',
      'categoryAccuracy',
      'binaryAccuracy',
    ]);
    expect(report.pass).toBe(false);
    expect(formatCalibrationReport(report)).toMatch(/\[EMPTY\] separation.criticalHigh: n\/a \(empty band\)/);
    expect(formatCalibrationReport(report)).toMatch(/low: n=0, mean energy n\/a \(empty\)/);
  });

  it('takes overridden targets, keeping the others', () => {
    const predicted = TRUE.map((t) => Math.min(3, t + 0.35)); // MAE 0.325
    expect(calibrationCheck(predicted, TRUE).checks[0]!.status).toBe('fail');
    const relaxed = calibrationCheck(predicted, TRUE, { maxMae: 0.4, minSeparation: { lowNormal: 0.1 } });
    expect(relaxed.checks[0]).toMatchObject({ name: 'mae', target: 0.4, status: 'pass' });
    expect(relaxed.checks.find((c) => c.name === 'separation.lowNormal')!.target).toBe(0.1);
    expect(relaxed.checks.find((c) => c.name === 'separation.criticalHigh')!.target).toBe(0.5);
    expect(relaxed.checks.find((c) => c.name === 'binaryAccuracy')!.target).toBe(0.95);
  });

  it('rejects bad input, naming the field', () => {
    expect(() => calibrationCheck([0.1], [0.1, 0.2])).toThrow(
      /^actual: expected the same length as predicted \(1\)/,
    );
    expect(() => calibrationCheck([], [])).toThrow(/^predicted: expected at least one sample/);
    expect(() => calibrationCheck([0.1, 3.4], [0.1, 0.2])).toThrow(/^predicted\[1\]: /);
    expect(() => calibrationCheck([0.1, 0.2], [0.1, Number.NaN])).toThrow(/^actual\[1\]: /);
    expect(() => calibrationCheck([0.1], [0.1], { minCategoryAccuracy: 90 })).toThrow(
      /^targets.minCategoryAccuracy: /,
    );
    expect(() => calibrationCheck(null as never, [])).toThrow(SeverityValidationError);
  });

  it('accepts typed arrays', () => {
    const report = calibrationCheck(Float64Array.from(TRUE), Float32Array.from(TRUE));
    expect(report.mae).toBeLessThan(1e-6);
  });

  it('formats a readable summary', () => {
    const text = formatCalibrationReport(calibrationCheck(TRUE, TRUE));
    expect(text.split('\n')[0]).toBe('Calibration check (n=10): PASS');
    expect(text).toMatch(/\[PASS\] categoryAccuracy: 100.0 % \(target > 90.0 %\)/);
    expect(text).toMatch(/\[PASS\] mae: 0.000 \(target < 0.30\)/);
  });
});
