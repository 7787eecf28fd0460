import { z } from 'zod';
import { BAND_IDS, BAND_THRESHOLDS, categorize, type SeverityBand } from './bands';
import { SeverityValidationError } from './errors';
import { assertSeverities, parseWith } from './validate';

/** Seed 001's calibration targets. Every comparison is strict (MAE < 0.3, accuracy > 90 %, …). */
export const DEFAULT_CALIBRATION_TARGETS = Object.freeze({
  maxMae: 0.3,
  minCategoryAccuracy: 0.9,
  minBinaryAccuracy: 0.95,
  minSeparation: Object.freeze({ criticalHigh: 0.5, highMedium: 0.5, mediumLow: 0.3, lowNormal: 0.2 }),
});

const nonNegative = z.number().min(0);
const CalibrationTargetsSchema = z.strictObject({
  maxMae: nonNegative.optional(),
  minCategoryAccuracy: z.number().min(0).max(1).optional(),
  minBinaryAccuracy: z.number().min(0).max(1).optional(),
  minSeparation: z
    .strictObject({
      criticalHigh: z.number().optional(),
      highMedium: z.number().optional(),
      mediumLow: z.number().optional(),
      lowNormal: z.number().optional(),
    })
    .optional(),
});
/** Any subset of the targets; the rest keep DEFAULT_CALIBRATION_TARGETS (MAE < 0.3, accuracies > 90 % and > 95 %, …). */
export type CalibrationTargets = z.input<typeof CalibrationTargetsSchema>;

type SeparationName = keyof typeof DEFAULT_CALIBRATION_TARGETS.minSeparation;
const SEPARATIONS: readonly { name: SeparationName; upper: SeverityBand; lower: SeverityBand }[] = [
  { name: 'criticalHigh', upper: 'critical', lower: 'high' },
  { name: 'highMedium', upper: 'high', lower: 'medium' },
  { name: 'mediumLow', upper: 'medium', lower: 'low' },
  { name: 'lowNormal', upper: 'low', lower: 'normal' },
];

/**
 * One check. `status: 'empty'` means it could not be evaluated because a band it needs has no
 * sample; such a check does not pass (an evaluation set without high findings cannot show that
 * high findings are separated from medium ones).
 */
export interface CalibrationCheckResult {
  readonly name: 'mae' | 'categoryAccuracy' | 'binaryAccuracy' | `separation.${SeparationName}`;
  readonly value: number | null;
  readonly target: number;
  /** How `value` must compare with `target` to pass. */
  readonly comparison: '<' | '>';
  readonly status: 'pass' | 'fail' | 'empty';
}

export interface BandCalibration {
  /** Samples whose true severity is in this band. */
  readonly count: number;
  /** Mean predicted energy of those samples; null when the band is empty (not 0). */
  readonly meanEnergy: number | null;
}

export interface CalibrationReport {
  readonly n: number;
  /** Mean |predicted − true|. */
  readonly mae: number;
  /** Share of samples whose predicted band equals the true band (5 bands). */
  readonly categoryAccuracy: number;
  /** Share of samples on the right side of 0.4 (normal vs anomaly). */
  readonly binaryAccuracy: number;
  readonly perBand: Readonly<Record<SeverityBand, BandCalibration>>;
  /** mean(upper band energy) − mean(lower band energy); null when either band is empty. */
  readonly separations: Readonly<Record<SeparationName, number | null>>;
  readonly checks: readonly CalibrationCheckResult[];
  /** True when every check passed (none failed, none empty). */
  readonly pass: boolean;
}

/**
 * Checks that predicted energies are calibrated to true severities, against seed 001's targets
 * (or yours). Both arrays must hold values in [0, 3]; clip unbounded model output with
 * `clampToScale` first.
 */
export function calibrationCheck(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  targets: CalibrationTargets = {},
): CalibrationReport {
  assertSeverities(predicted, 'predicted');
  assertSeverities(actual, 'actual');
  if (predicted.length !== actual.length) {
    throw new SeverityValidationError(
      'actual',
      `the same length as predicted (${predicted.length})`,
      actual.length,
    );
  }
  if (predicted.length === 0) throw new SeverityValidationError('predicted', 'at least one sample', 0);
  const t = resolveTargets(targets);

  const n = predicted.length;
  let absError = 0;
  let categoryHits = 0;
  let binaryHits = 0;
  const sums = Object.fromEntries(BAND_IDS.map((b) => [b, { count: 0, sum: 0 }])) as Record<
    SeverityBand,
    { count: number; sum: number }
  >;
  for (let i = 0; i < n; i++) {
    const p = predicted[i]!;
    const a = actual[i]!;
    absError += Math.abs(p - a);
    const trueBand = categorize(a);
    if (categorize(p) === trueBand) categoryHits++;
    if (p >= BAND_THRESHOLDS.low === a >= BAND_THRESHOLDS.low) binaryHits++;
    sums[trueBand].count++;
    sums[trueBand].sum += p;
  }

  const perBand = Object.fromEntries(
    BAND_IDS.map((b) => [
      b,
      { count: sums[b].count, meanEnergy: sums[b].count ? sums[b].sum / sums[b].count : null },
    ]),
  ) as Record<SeverityBand, BandCalibration>;
  const separations = Object.fromEntries(
    SEPARATIONS.map(({ name, upper, lower }) => {
      const hi = perBand[upper].meanEnergy;
      const lo = perBand[lower].meanEnergy;
      return [name, hi === null || lo === null ? null : hi - lo];
    }),
  ) as Record<SeparationName, number | null>;

  const mae = absError / n;
  const categoryAccuracy = categoryHits / n;
  const binaryAccuracy = binaryHits / n;
  const checks: CalibrationCheckResult[] = [
    check('mae', mae, t.maxMae, '<'),
    check('categoryAccuracy', categoryAccuracy, t.minCategoryAccuracy, '>'),
    check('binaryAccuracy', binaryAccuracy, t.minBinaryAccuracy, '>'),
    ...SEPARATIONS.map(({ name }) =>
      check(`separation.${name}` as const, separations[name], t.minSeparation[name], '>'),
    ),
  ];
  return {
    n,
    mae,
    categoryAccuracy,
    binaryAccuracy,
    perBand,
    separations,
    checks,
    pass: checks.every((c) => c.status === 'pass'),
  };
}

function check(
  name: CalibrationCheckResult['name'],
  value: number | null,
  target: number,
  comparison: '<' | '>',
): CalibrationCheckResult {
  if (value === null) return { name, value, target, comparison, status: 'empty' };
  const ok = comparison === '<' ? value < target : value > target;
  return { name, value, target, comparison, status: ok ? 'pass' : 'fail' };
}

function resolveTargets(targets: CalibrationTargets) {
  const parsed = parseWith(CalibrationTargetsSchema, targets, 'targets');
  const d = DEFAULT_CALIBRATION_TARGETS;
  return {
    maxMae: parsed.maxMae ?? d.maxMae,
    minCategoryAccuracy: parsed.minCategoryAccuracy ?? d.minCategoryAccuracy,
    minBinaryAccuracy: parsed.minBinaryAccuracy ?? d.minBinaryAccuracy,
    minSeparation: { ...d.minSeparation, ...stripUndefined(parsed.minSeparation ?? {}) },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A plain-text summary of a calibration report, one line per check. */
export function formatCalibrationReport(report: CalibrationReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const fmt = (c: CalibrationCheckResult) => {
    const value =
      c.value === null ? 'n/a (empty band)' : c.name.endsWith('Accuracy') ? pct(c.value) : c.value.toFixed(3);
    const target = c.name.endsWith('Accuracy') ? pct(c.target) : c.target.toFixed(2);
    return `  [${c.status.toUpperCase()}] ${c.name}: ${value} (target ${c.comparison} ${target})`;
  };
  const bands = BAND_IDS.map((b) => {
    const { count, meanEnergy } = report.perBand[b];
    return `  ${b}: n=${count}, mean energy ${meanEnergy === null ? 'n/a (empty)' : meanEnergy.toFixed(3)}`;
  });
  return [
    `Calibration check (n=${report.n}): ${report.pass ? 'PASS' : 'FAIL'}`,
    ...report.checks.map(fmt),
    'Per band (by true severity):',
    ...bands,
  ].join('\n');
}
