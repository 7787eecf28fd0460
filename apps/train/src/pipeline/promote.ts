import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainConfig } from '../config/schema';

export interface GateResult {
  promoted: boolean;
  reasons: string[];
}

/**
 * Seed 001's calibration targets, for models whose score is a severity energy. `separationsPass`
 * is whether every band separation met its target (null when there was nothing to check).
 */
export function severityGate(
  metrics: Record<string, number | undefined>,
  separationsPass: boolean | null,
  gate: TrainConfig['promotion']['severity'],
): GateResult {
  const reasons: string[] = [];
  const check = (ok: boolean, text: string) => {
    if (!ok) reasons.push(text);
  };
  check(
    (metrics.severity_mae ?? Number.POSITIVE_INFINITY) < gate.maxMae,
    `severity MAE ${fmt(metrics.severity_mae)} is not < ${gate.maxMae}`,
  );
  check(
    (metrics.category_accuracy ?? 0) > gate.minCategoryAccuracy,
    `category accuracy ${fmt(metrics.category_accuracy)} is not > ${gate.minCategoryAccuracy}`,
  );
  check(
    (metrics.binary_accuracy ?? 0) > gate.minBinaryAccuracy,
    `binary accuracy ${fmt(metrics.binary_accuracy)} is not > ${gate.minBinaryAccuracy}`,
  );
  if (gate.requireSeparations && separationsPass === false)
    reasons.push('a band separation target is not met (see the calibration table)');
  return { promoted: reasons.length === 0, reasons };
}

/** ECE (10 bins) on calibrated probabilities and accuracy at the threshold, on the test split. */
export function classifierGate(
  metrics: Record<string, number | undefined>,
  gate: TrainConfig['promotion']['classifier'],
): GateResult {
  const reasons: string[] = [];
  if (metrics.ece === undefined)
    reasons.push('no calibrated probabilities with labels on the test split, so ECE cannot be checked');
  else if (!(metrics.ece <= gate.maxEce)) reasons.push(`ECE ${fmt(metrics.ece)} is not ≤ ${gate.maxEce}`);
  if (metrics.accuracy === undefined) reasons.push('no labelled test split, so accuracy cannot be checked');
  else if (!(metrics.accuracy >= gate.minAccuracy))
    reasons.push(`accuracy ${fmt(metrics.accuracy)} is not ≥ ${gate.minAccuracy}`);
  return { promoted: reasons.length === 0, reasons };
}

/**
 * For detectors trained without labels: with labels on the test split, ROC-AUC (and, when
 * configured, average precision); without, the alarm rate of held-out normal data. Without
 * either nothing can be checked, and nothing is promoted.
 */
export function unsupervisedGate(
  metrics: Record<string, number | undefined>,
  gate: TrainConfig['promotion']['unsupervised'],
): GateResult {
  const reasons: string[] = [];
  if (metrics.roc_auc !== undefined) {
    if (!(metrics.roc_auc >= gate.minRocAuc))
      reasons.push(`ROC-AUC ${fmt(metrics.roc_auc)} is not ≥ ${gate.minRocAuc}`);
    if (
      gate.minAveragePrecision !== undefined &&
      !((metrics.average_precision ?? 0) >= gate.minAveragePrecision)
    )
      reasons.push(
        `average precision ${fmt(metrics.average_precision)} is not ≥ ${gate.minAveragePrecision}`,
      );
  } else if (metrics.normal_alarm_rate !== undefined) {
    if (!(metrics.normal_alarm_rate <= gate.maxAlarmRate))
      reasons.push(
        `alarm rate on held-out normal data ${fmt(metrics.normal_alarm_rate)} is not ≤ ${gate.maxAlarmRate}`,
      );
  } else
    reasons.push(
      'no labels on the test split and no held-out normal data, so neither detection nor alarm rate can be checked',
    );
  return { promoted: reasons.length === 0, reasons };
}

export type GateKind = 'severity' | 'classifier' | 'unsupervised';

/** The gate a run is held to: the configured one, or by what the model is (`auto`). */
export function gateKind(
  configured: TrainConfig['promotion']['gate'],
  model: { graded: boolean; supervised: boolean },
): GateKind {
  if (configured !== 'auto') return configured;
  return model.graded ? 'severity' : model.supervised ? 'classifier' : 'unsupervised';
}

/** Applies one gate to a set of metrics (the test split's, or a bound over folds). */
export function applyGate(
  kind: GateKind,
  metrics: Record<string, number | undefined>,
  separationsPass: boolean | null,
  promotion: TrainConfig['promotion'],
): GateResult {
  switch (kind) {
    case 'severity':
      return severityGate(metrics, separationsPass, promotion.severity);
    case 'classifier':
      return classifierGate(metrics, promotion.classifier);
    case 'unsupervised':
      return unsupervisedGate(metrics, promotion.unsupervised);
  }
}

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));

/**
 * Copies the run's model to `<modelsDir>/current/<name>` when the gate passed or to
 * `<modelsDir>/candidates/<runId>` otherwise, with a `promotion.json` beside the artifact (and
 * `extra.dirs`, e.g. the ONNX export as `onnx/`). A
 * promotion is staged next to its destination and swapped in by renames, so a failed copy never
 * leaves `current/<name>` half-written or empty.
 */
export async function promote(
  modelDir: string,
  name: string,
  runId: string,
  modelsDir: string,
  gate: GateResult,
  metrics: Record<string, unknown>,
  extra: {
    /** More directories promoted beside `model/`, by name (e.g. `onnx`: the model's ONNX export). */
    dirs?: Record<string, string>;
    /** More keys for promotion.json (e.g. the export's checksum and parity). */
    record?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const destination = gate.promoted ? join(modelsDir, 'current', name) : join(modelsDir, 'candidates', runId);
  const staging = `${destination}.staging-${runId}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await cp(modelDir, join(staging, 'model'), { recursive: true });
  for (const [name, dir] of Object.entries(extra.dirs ?? {}))
    await cp(dir, join(staging, name), { recursive: true });
  await writeFile(
    join(staging, 'promotion.json'),
    `${JSON.stringify({ runId, promoted: gate.promoted, reasons: gate.reasons, metrics, at: new Date().toISOString(), ...extra.record }, null, 2)}\n`,
  );
  const replaced = `${destination}.replaced-${runId}`;
  const hadPrevious = existsSync(destination);
  if (hadPrevious) await rename(destination, replaced);
  await rename(staging, destination);
  if (hadPrevious) await rm(replaced, { recursive: true, force: true });
  return destination;
}
