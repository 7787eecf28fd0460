import type { TopLevelSpec } from 'vega-lite';
import type { FoldStatistic, ReportData } from './types';

/**
 * Vega-Lite plots of the evaluation beyond one test split: the spread of every metric over the
 * cross-validation folds, the calibration checks over the folds against their targets, and the
 * main split beside the other split views. Each returns null when the run has no such data.
 */
const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 420,
  height: 260,
} as const;

/** Metrics on a 0–1 scale worth comparing across folds and splits, in display order. */
const SHOWN = [
  'roc_auc',
  'average_precision',
  'accuracy',
  'f1',
  'category_accuracy',
  'binary_accuracy',
  'severity_mae',
  'ece',
  'normal_alarm_rate',
];

/** Fold values as points, mean ± sd as an error bar, the mean as a tick; `extra` layers go on top. */
function spread(title: string, stats: FoldStatistic[], extra: object[] = [], subtitle = ''): TopLevelSpec {
  const points = stats.flatMap((s) =>
    s.values.flatMap((value, f) => (value === null ? [] : [{ name: s.name, fold: f + 1, value }])),
  );
  const bars = stats
    .filter((s) => s.mean !== null)
    .map((s) => ({
      name: s.name,
      mean: s.mean,
      lo: s.mean! - (s.sd ?? 0),
      hi: s.mean! + (s.sd ?? 0),
      sd: s.sd,
    }));
  const order = stats.map((s) => s.name);
  const x = {
    field: 'name',
    type: 'nominal',
    sort: order,
    title: null,
    axis: { labelAngle: -30, labelLimit: 200 },
  };
  return {
    ...base,
    width: Math.max(base.width, 60 * stats.length),
    title: { text: title, subtitle },
    layer: [
      {
        data: { values: bars },
        mark: { type: 'rule', strokeWidth: 2, color: '#4c78a8' },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'value' }, y2: { field: 'hi' } },
      },
      {
        data: { values: bars },
        mark: { type: 'tick', thickness: 2, size: 18, color: '#4c78a8' },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative' },
          tooltip: [{ field: 'name' }, { field: 'mean', format: '.3f' }, { field: 'sd', format: '.3f' }],
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 40, opacity: 0.7, color: '#e45756' },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative' },
          tooltip: [{ field: 'name' }, { field: 'fold' }, { field: 'value', format: '.3f' }],
        },
      },
      ...extra,
    ],
  } as TopLevelSpec;
}

export function crossValidationMetrics(d: ReportData): TopLevelSpec | null {
  const cv = d.crossValidation;
  if (!cv) return null;
  const stats = SHOWN.flatMap((n) => cv.metrics.filter((m) => m.name === n && m.mean !== null));
  if (!stats.length) return null;
  return spread(
    `Test metrics over ${cv.folds} cross-validation folds`,
    stats,
    [],
    'red: one fold; blue: mean ± 1 sd',
  );
}

export function crossValidationCalibration(d: ReportData): TopLevelSpec | null {
  const checks = d.crossValidation?.severity?.checks;
  if (!checks?.length) return null;
  const targets = checks.map((c) => ({ name: c.name, target: c.target }));
  return spread(
    `Seed-001 calibration checks over ${d.crossValidation!.folds} folds`,
    checks,
    [
      {
        data: { values: targets },
        mark: { type: 'tick', thickness: 2, size: 26, color: 'black', strokeDash: [3, 2] },
        encoding: {
          x: { field: 'name', type: 'nominal', sort: checks.map((c) => c.name) },
          y: { field: 'target', type: 'quantitative' },
          tooltip: [{ field: 'name' }, { field: 'target' }],
        },
      },
    ],
    'red: one fold; blue: mean ± 1 sd; black: target',
  );
}

export function splitViews(d: ReportData): TopLevelSpec | null {
  const views = d.splitViews;
  if (!views || views.length < 2) return null;
  const values = views.flatMap((v) =>
    SHOWN.flatMap((name) =>
      v.metrics[name] === undefined ? [] : [{ name, split: v.name, value: v.metrics[name] }],
    ),
  );
  if (!values.length) return null;
  const order = SHOWN.filter((n) => values.some((v) => v.name === n));
  return {
    ...base,
    width: Math.max(base.width, 70 * order.length),
    title: `Test metrics: ${views.map((v) => v.name).join(' vs ')}`,
    data: { values },
    mark: 'bar',
    encoding: {
      x: {
        field: 'name',
        type: 'nominal',
        sort: order,
        title: null,
        axis: { labelAngle: -30, labelLimit: 200 },
      },
      xOffset: { field: 'split', type: 'nominal' },
      y: { field: 'value', type: 'quantitative', title: 'value' },
      color: { field: 'split', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
      tooltip: [{ field: 'split' }, { field: 'name' }, { field: 'value', format: '.3f' }],
    },
  } as TopLevelSpec;
}
