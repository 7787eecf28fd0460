import type { TrainConfig } from '../config/schema';
import type { CrossValidationReport, FoldStatistic } from '../report/types';

/** Metrics where a smaller value is better; for every other metric a larger one is. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set([
  'severity_mae',
  'ece',
  'brier',
  'false_positive_rate',
  'normal_alarm_rate',
  'flagged_fraction',
]);

/** What one fold produced: its metrics and, for severity models, its calibration table. */
export interface FoldOutcome {
  metrics: Record<string, number | undefined>;
  severity?: {
    checks: Array<{ name: string; value: number | null; target: number; comparison: '<' | '>' }>;
    bands: Array<{ band: string; meanEnergy: number | null }>;
  };
}

type BoundConfig = TrainConfig['promotion']['crossValidation'];

export function boundLabel(b: BoundConfig): string {
  switch (b.bound) {
    case 'mean-sd':
      return `mean − ${b.sds} sd (+ where lower is better)`;
    case 'worst-fold':
      return 'the worst fold';
    case 'mean':
      return 'the mean';
    case 'none':
      return 'none (folds reported, not gated)';
  }
}

/** Mean, sample sd, extremes and the gate's bound of per-fold values (nulls skipped). */
export function foldStatistic(
  name: string,
  values: Array<number | null>,
  higherIsBetter: boolean,
  b: BoundConfig,
): FoldStatistic {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (!v.length)
    return { name, values, mean: null, sd: null, min: null, max: null, bound: null, higherIsBetter };
  const mean = v.reduce((a, x) => a + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  const min = Math.min(...v);
  const max = Math.max(...v);
  const sign = higherIsBetter ? -1 : 1;
  // Counts (n_test …) describe the folds; no gate reads a bound of them.
  const bound = name.startsWith('n_')
    ? null
    : b.bound === 'mean-sd'
      ? mean + sign * b.sds * sd
      : b.bound === 'worst-fold'
        ? higherIsBetter
          ? min
          : max
        : b.bound === 'mean'
          ? mean
          : null;
  return { name, values, mean, sd, min, max, bound, higherIsBetter };
}

/** Every metric any fold reported, and the calibration table, summarised over the folds. */
export function summarizeFolds(
  outcomes: FoldOutcome[],
  b: BoundConfig,
): Pick<CrossValidationReport, 'metrics' | 'severity'> {
  const names = [...new Set(outcomes.flatMap((o) => Object.keys(o.metrics)))];
  const metrics = names.map((name) =>
    foldStatistic(
      name,
      outcomes.map((o) => o.metrics[name] ?? null),
      !LOWER_IS_BETTER.has(name),
      b,
    ),
  );
  const first = outcomes[0]?.severity;
  if (!first || !outcomes.every((o) => o.severity)) return { metrics };
  const checks = first.checks.map((c) => {
    const values = outcomes.map((o) => o.severity!.checks.find((x) => x.name === c.name)?.value ?? null);
    const stat = foldStatistic(c.name, values, c.comparison === '>', b);
    // A check empty in any fold (a band without examples) cannot pass, as in a single calibration check.
    const pass =
      stat.bound === null || values.some((x) => x === null)
        ? null
        : c.comparison === '<'
          ? stat.bound < c.target
          : stat.bound > c.target;
    return { ...stat, target: c.target, comparison: c.comparison, pass };
  });
  const bands = first.bands.map((band) =>
    foldStatistic(
      band.band,
      outcomes.map((o) => o.severity!.bands.find((x) => x.band === band.band)?.meanEnergy ?? null),
      true,
      { bound: 'none', sds: 0 },
    ),
  );
  return { metrics, severity: { checks, bands } };
}
