import type { TopLevelSpec } from 'vega-lite';
import { crossValidationCalibration, crossValidationMetrics, splitViews } from './evaluation-charts';
import type { ReportData } from './types';

/**
 * Vega-Lite specifications for every plot of the report. Each returns null when the run has no
 * data for it (e.g. no training history for an isolation forest), so the report only shows
 * what the run produced.
 */
const WIDTH = 420;
const HEIGHT = 260;
const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: WIDTH,
  height: HEIGHT,
} as const;

export function trainingCurves(d: ReportData): TopLevelSpec | null {
  if (!d.history?.length) return null;
  const values = d.history.flatMap((h) =>
    Object.entries(h)
      .filter(([k, v]) => k !== 'epoch' && Number.isFinite(v))
      .map(([metric, value]) => ({ epoch: h.epoch, metric, value })),
  );
  return {
    ...base,
    title: 'Training curves',
    data: { values },
    mark: { type: 'line', point: values.length < 200 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', title: null },
      color: { field: 'metric', type: 'nominal', title: 'metric' },
      facet: undefined,
    },
  } as TopLevelSpec;
}

export function scoreDistribution(d: ReportData): TopLevelSpec | null {
  if (!d.test.length) return null;
  const values = d.test.map((r) => ({ score: r.score, class: r.label === 1 ? 'anomalous' : 'normal' }));
  return {
    ...base,
    title: `${d.scoreName} distribution by class (test split)`,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', opacity: 0.6, binSpacing: 0 },
        encoding: {
          x: { field: 'score', type: 'quantitative', bin: { maxbins: 50 }, title: d.scoreName },
          y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'rows' },
          color: {
            field: 'class',
            type: 'nominal',
            scale: { domain: ['normal', 'anomalous'], range: ['#4c78a8', '#e45756'] },
          },
        },
      },
      ...(d.threshold === null
        ? []
        : [
            {
              data: { values: [{ threshold: d.threshold }] },
              mark: { type: 'rule' as const, color: 'black', strokeDash: [4, 4], strokeWidth: 2 },
              encoding: { x: { field: 'threshold', type: 'quantitative' as const } },
            },
          ]),
    ],
  } as TopLevelSpec;
}

export function energyBySeverityBand(d: ReportData): TopLevelSpec | null {
  const bands = d.severity?.bands;
  if (!bands?.length) return null;
  const values = bands
    .filter((b) => b.meanEnergy !== null)
    .map((b) => ({ band: b.band, mean: b.meanEnergy, lo: b.lower, hi: b.upper, n: b.count }));
  const order = bands.map((b) => b.band);
  return {
    ...base,
    title: 'Mean energy by true severity band (test split), with the band range',
    data: { values },
    layer: [
      {
        mark: { type: 'bar', opacity: 0.15, color: 'gray' },
        encoding: {
          x: { field: 'band', type: 'nominal', sort: order, title: 'true band' },
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 120, color: '#e45756' },
        encoding: {
          x: { field: 'band', type: 'nominal', sort: order },
          y: { field: 'mean', type: 'quantitative', title: 'mean energy' },
          tooltip: [{ field: 'n', title: 'rows' }],
        },
      },
    ],
  } as TopLevelSpec;
}

export function confusionMatrix(d: ReportData): TopLevelSpec | null {
  const cm = d.confusion;
  if (!cm) return null;
  const values = cm.counts.flatMap((row, i) =>
    row.map((count, j) => ({ actual: cm.labels[i], predicted: cm.labels[j], count })),
  );
  const enc = {
    x: { field: 'predicted', type: 'nominal', sort: cm.labels },
    y: { field: 'actual', type: 'nominal', sort: cm.labels },
  };
  return {
    $schema: base.$schema,
    width: Math.min(WIDTH, 70 * cm.labels.length + 40),
    height: Math.min(HEIGHT, 50 * cm.labels.length + 20),
    title: cm.title,
    data: { values },
    layer: [
      {
        mark: 'rect',
        encoding: {
          ...enc,
          color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, legend: null },
        },
      },
      {
        mark: { type: 'text', fontSize: 13 },
        encoding: { ...enc, text: { field: 'count', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

export function rocCurve(d: ReportData): TopLevelSpec | null {
  if (!d.roc) return null;
  const values = d.roc.fpr.map((fpr, i) => ({ fpr, tpr: d.roc!.tpr[i] }));
  return {
    ...base,
    width: HEIGHT,
    title: `ROC curve (AUC ${d.metrics.roc_auc?.toFixed(3) ?? '?'})`,
    layer: [
      {
        data: { values },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'false-positive rate' },
          y: { field: 'tpr', type: 'quantitative', title: 'true-positive rate' },
        },
      },
      {
        data: { values: [{ a: 0 }, { a: 1 }] },
        mark: { type: 'line', color: 'lightgray', strokeDash: [3, 3] },
        encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'a', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

export function prCurve(d: ReportData): TopLevelSpec | null {
  if (!d.pr) return null;
  const values = d.pr.recall.map((recall, i) => ({ recall, precision: d.pr!.precision[i] }));
  return {
    ...base,
    width: HEIGHT,
    title: `Precision–recall curve (AP ${d.metrics.average_precision?.toFixed(3) ?? '?'})`,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] } },
      y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] } },
    },
  } as TopLevelSpec;
}

export function featureImportance(d: ReportData): TopLevelSpec | null {
  if (!d.featureImportance?.length) return null;
  const values = d.featureImportance.slice(0, 20);
  return {
    ...base,
    height: 16 * values.length,
    title: { text: 'Top features by importance (test split)', subtitle: d.featureImportanceMethod ?? '' },
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'feature', type: 'nominal', sort: '-x', title: null },
      x: { field: 'importance', type: 'quantitative', title: 'importance' },
    },
  } as TopLevelSpec;
}

export function detectionByVariant(d: ReportData): TopLevelSpec | null {
  if (!d.detection?.length) return null;
  const values = d.detection.map((r) => ({
    ...r,
    name: `${r.mode}/${r.variant}`,
    group: r.heldOut ? 'held out of training' : 'seen in training',
  }));
  return {
    ...base,
    height: 14 * values.length,
    title: 'Detection rate per failure mode and variant (test split)',
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'name', type: 'nominal', sort: '-x', title: null },
      x: { field: 'rate', type: 'quantitative', scale: { domain: [0, 1] }, title: 'detected' },
      color: { field: 'group', type: 'nominal', title: null },
      tooltip: [{ field: 'name' }, { field: 'detected' }, { field: 'n' }, { field: 'severity' }],
    },
  } as TopLevelSpec;
}

export function scoreTimeline(d: ReportData): TopLevelSpec | null {
  if (!d.timeline?.length) return null;
  const values = d.timeline;
  const hasLabel = values.some((v) => v.label !== undefined);
  return {
    ...base,
    width: 2 * WIDTH,
    title: `${d.scoreName} over time`,
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1 },
        encoding: {
          x: { field: 't', type: 'quantitative', title: d.timelineAxis ?? 'index' },
          y: { field: 'score', type: 'quantitative', title: d.scoreName },
        },
      },
      ...(hasLabel
        ? [
            {
              // Labelled anomalies as a red strip along the bottom of the plot.
              data: { values: values.filter((v) => v.label === 1) },
              mark: {
                type: 'tick' as const,
                color: '#e45756',
                opacity: 0.5,
                orient: 'vertical' as const,
                height: 10,
              },
              encoding: { x: { field: 't', type: 'quantitative' as const }, y: { value: HEIGHT - 5 } },
            },
          ]
        : []),
      ...(d.threshold === null
        ? []
        : [
            {
              data: { values: [{ threshold: d.threshold }] },
              mark: { type: 'rule' as const, strokeDash: [4, 4] },
              encoding: { y: { field: 'threshold', type: 'quantitative' as const } },
            },
          ]),
    ],
  } as TopLevelSpec;
}

export const CHARTS = {
  'training-curves': trainingCurves,
  'score-distribution': scoreDistribution,
  'energy-by-band': energyBySeverityBand,
  'confusion-matrix': confusionMatrix,
  roc: rocCurve,
  pr: prCurve,
  'feature-importance': featureImportance,
  'detection-by-variant': detectionByVariant,
  timeline: scoreTimeline,
  'split-views': splitViews,
  'cv-metrics': crossValidationMetrics,
  'cv-calibration': crossValidationCalibration,
} as const;
