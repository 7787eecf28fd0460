import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  binaryMetrics,
  brierScore,
  expectedCalibrationError,
  NotFittedError,
  parseWith,
  rocAuc,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import type { LabelledSequence, NGramClassifier } from './ngram-classifier';

export const PromotionGateSchema = z.object({
  maxEce: z.number().min(0).max(1).default(0.08),
  minAccuracy: z.number().min(0).max(1).default(0.85),
  /** Equal-width bins of the expected calibration error. */
  eceBins: z.number().int().min(1).default(10),
  /**
   * "confidence" (Guo et al. 2017): bins on max(p, 1 − p) against the accuracy of the label at 0.5;
   * "probability": bins on p(anomalous) against the observed anomaly rate (a reliability diagram).
   */
  eceMode: z.enum(['confidence', 'probability']).default('confidence'),
});
export type PromotionGate = z.infer<typeof PromotionGateSchema>;

export interface ValidationMetrics {
  n: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Expected calibration error of the predicted probabilities (binned, never |accuracy − precision|). */
  ece: number;
  brier: number;
  /** Null when the validation set has a single class. */
  rocAuc: number | null;
  threshold: number;
}

export interface GateDecision {
  passed: boolean;
  /** Why it failed (empty when it passed). */
  reasons: string[];
  gate: PromotionGate;
}

/** Metrics of a fitted classifier on labelled validation sequences (never the training set). */
export async function validationMetrics(
  model: NGramClassifier,
  validation: readonly LabelledSequence[],
  gate: Partial<PromotionGate> = {},
): Promise<ValidationMetrics> {
  const g = parseWith(PromotionGateSchema, gate, 'gate');
  if (validation.length === 0) throw new ValidationError('validation', 'at least one labelled sequence', 0);
  const y = validation.map((s) => s.label);
  const p = await model.predictProba(validation.map((s) => s.sequence));
  if (!model.threshold) throw new NotFittedError(model.kind, 'call fit() before validationMetrics()');
  const t = model.threshold.value;
  const pred = Array.from(p, (v) => (v > t ? 1 : 0));
  const m = binaryMetrics(y, pred);
  const both = y.includes(0) && y.includes(1);
  return {
    n: validation.length,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    ece: expectedCalibrationError(p, y, { bins: g.eceBins, mode: g.eceMode }).ece,
    brier: brierScore(p, y),
    rocAuc: both ? rocAuc(y, p) : null,
    threshold: t,
  };
}

/** Pass = accuracy ≥ minAccuracy and ECE ≤ maxEce (a NaN metric fails). */
export function checkPromotionGate(
  metrics: Pick<ValidationMetrics, 'accuracy' | 'ece'>,
  gate: Partial<PromotionGate> = {},
): GateDecision {
  const g = parseWith(PromotionGateSchema, gate, 'gate');
  const reasons: string[] = [];
  if (!(metrics.accuracy >= g.minAccuracy))
    reasons.push(`accuracy ${metrics.accuracy.toFixed(4)} < ${g.minAccuracy}`);
  if (!(metrics.ece <= g.maxEce)) reasons.push(`ECE ${metrics.ece.toFixed(4)} > ${g.maxEce}`);
  return { passed: reasons.length === 0, reasons, gate: g };
}

export interface PromotionResult extends GateDecision {
  metrics: ValidationMetrics;
  /** "current" when promoted, "candidates" otherwise. */
  destination: 'current' | 'candidates';
  /** The model's artifact directory. */
  modelPath: string;
  metricsPath: string;
}

/**
 * Evaluates a classifier on validation data, applies the gate and writes the model (an artifact
 * directory) and a metrics file to `<outputRoot>/current/` when it passes or
 * `<outputRoot>/candidates/` when it does not: `<name>_model_<UTC yyyymmdd_hhmmss>/` and
 * `<name>_metrics_<same>.json`.
 */
export async function promoteModel(
  model: NGramClassifier,
  validation: readonly LabelledSequence[],
  options: {
    outputRoot?: string;
    name?: string;
    gate?: Partial<PromotionGate>;
    now?: Date;
    extra?: Record<string, unknown>;
  } = {},
): Promise<PromotionResult> {
  const { outputRoot = 'models', name = 'ngram', now = new Date() } = options;
  if (!/^[A-Za-z0-9_.-]+$/.test(name))
    throw new ValidationError('name', 'letters, digits, "_", "-" or "."', name);
  const metrics = await validationMetrics(model, validation, options.gate);
  const decision = checkPromotionGate(metrics, options.gate);
  const destination = decision.passed ? 'current' : 'candidates';
  const dir = join(outputRoot, destination);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  const modelPath = join(dir, `${name}_model_${stamp}`);
  const metricsPath = join(dir, `${name}_metrics_${stamp}.json`);
  await mkdir(dir, { recursive: true });
  await model.save(modelPath, { metrics: { ...metrics } });
  const report = {
    ...options.extra,
    metrics,
    gate: decision.gate,
    passed: decision.passed,
    reasons: decision.reasons,
    model: modelPath,
    timestamp: now.toISOString(),
  };
  await writeFile(metricsPath, `${JSON.stringify(report, null, 2)}\n`);
  return { ...decision, metrics, destination, modelPath, metricsPath };
}
