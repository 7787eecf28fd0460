import {
  averagePrecision,
  brierScore,
  confusionMatrix,
  expectedCalibrationError,
  metricsAtThreshold,
  prCurve,
  rocAuc,
  rocCurve,
} from '@anomalia/core';
import {
  BAND_IDS,
  type CalibrationReport,
  calibrationCheck,
  categorize,
  clampToScale,
  DEFAULT_CALIBRATION_TARGETS,
  getBand,
} from '@anomalia/severity';
import type { RowMeta } from '../data/types';
import type { ReportData } from '../report/types';

const hasBothClasses = (y: ArrayLike<number>) => {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i]!;
  return pos > 0 && pos < y.length;
};

/** Test-split metrics and curves for a binary task (score higher = anomalous; anomalous when score > threshold). */
export function binaryEvaluation(
  scores: Float64Array,
  y: Float64Array | undefined,
  threshold: number | null,
  probabilities: Float64Array | null,
): Pick<ReportData, 'metrics' | 'roc' | 'pr' | 'confusion'> {
  const metrics: Record<string, number | undefined> = { n_test: scores.length };
  if (!y || !hasBothClasses(y)) {
    if (threshold !== null)
      metrics.flagged_fraction = scores.filter((s) => s > threshold).length / Math.max(1, scores.length);
    return { metrics };
  }
  metrics.roc_auc = rocAuc(y, scores);
  metrics.average_precision = averagePrecision(y, scores);
  metrics.anomaly_fraction = y.reduce((a, b) => a + b, 0) / y.length;
  let confusion: ReportData['confusion'];
  if (threshold !== null) {
    const m = metricsAtThreshold(y, scores, threshold);
    Object.assign(metrics, {
      accuracy: m.accuracy,
      precision: m.precision,
      recall: m.recall,
      f1: m.f1,
      false_positive_rate: m.fpr,
    });
    confusion = {
      title: 'Confusion matrix at the threshold (test split)',
      labels: ['normal', 'anomalous'],
      counts: [
        [m.tn, m.fp],
        [m.fn, m.tp],
      ],
    };
  }
  if (probabilities) {
    metrics.ece = expectedCalibrationError(probabilities, y).ece;
    metrics.brier = brierScore(probabilities, y);
  }
  const roc = rocCurve(y, scores);
  const pr = prCurve(y, scores);
  return {
    metrics,
    roc: { fpr: roc.fpr, tpr: roc.tpr },
    pr: { precision: pr.precision, recall: pr.recall },
    confusion,
  };
}

/** Seed 001's severity calibration on the test split, for models whose score is an energy on the 0–3 scale. */
export function severityEvaluation(
  energies: Float64Array,
  severities: Float64Array,
): Pick<ReportData, 'severity' | 'confusion'> & {
  metrics: Record<string, number>;
  calibration: CalibrationReport;
} {
  const clipped = Float64Array.from(energies, (e) => clampToScale(e));
  const r = calibrationCheck(clipped, severities);
  const t = DEFAULT_CALIBRATION_TARGETS;
  const target = (name: string) =>
    name === 'mae'
      ? `< ${t.maxMae}`
      : name === 'categoryAccuracy'
        ? `> ${t.minCategoryAccuracy}`
        : name === 'binaryAccuracy'
          ? `> ${t.minBinaryAccuracy}`
          : `> ${(t.minSeparation as Record<string, number>)[name.replace('separation.', '')]}`;
  const bands = BAND_IDS.map((b) => {
    const { min, max } = getBand(b);
    return {
      band: b,
      lower: min,
      upper: max,
      count: r.perBand[b].count,
      meanEnergy: r.perBand[b].meanEnergy,
    };
  });
  const labels = [...BAND_IDS];
  const cm = confusionMatrix(
    Array.from(severities, (s) => labels.indexOf(categorize(s))),
    Array.from(clipped, (e) => labels.indexOf(categorize(e))),
    labels.map((_, i) => i),
  );
  return {
    calibration: r,
    metrics: {
      severity_mae: r.mae,
      category_accuracy: r.categoryAccuracy,
      binary_accuracy: r.binaryAccuracy,
    },
    severity: {
      bands,
      checks: r.checks.map((c) => ({
        name: c.name,
        value: c.value,
        target: target(c.name),
        pass: c.status === 'empty' ? null : c.status === 'pass',
      })),
      pass: r.pass,
    },
    confusion: {
      title: 'Severity band: true (rows) vs predicted (columns), test split',
      labels,
      counts: cm.counts,
    },
  };
}

/** Detection rate per (mode, variant) on the test split; held-out variants are marked. */
export function detectionByVariant(
  meta: RowMeta[],
  predicted: Uint8Array,
): NonNullable<ReportData['detection']> {
  const groups = new Map<
    string,
    { mode: string; variant: string; severity: number; n: number; detected: number; heldOut: boolean }
  >();
  meta.forEach((m, i) => {
    if (!m.mode || !m.variant) return;
    const key = `${m.mode}/${m.variant}`;
    const g = groups.get(key) ?? {
      mode: m.mode,
      variant: m.variant,
      severity: m.severity,
      n: 0,
      detected: 0,
      heldOut: m.heldOut,
    };
    g.n++;
    g.detected += predicted[i]!;
    groups.set(key, g);
  });
  return [...groups.values()]
    .map((g) => ({ ...g, rate: g.detected / g.n }))
    .sort((a, b) => a.mode.localeCompare(b.mode) || a.variant.localeCompare(b.variant));
}
