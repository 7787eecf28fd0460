import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { sha256Hex } from '@anomalia/qa-workflow';
import type { TrainConfig } from '../config/schema';

export interface GateResult {
  promoted: boolean;
  reasons: string[];
}

/** Seed 001's calibration targets, for models whose score is a severity energy. */
export function severityGate(
  metrics: Record<string, number | undefined>,
  severityPass: boolean | null,
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
  if (gate.requireSeparations && severityPass === false)
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

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));

/**
 * Copies the run's model to `<modelsDir>/current/<name>` when the gate passed or to
 * `<modelsDir>/candidates/<runId>` otherwise, with a `promotion.json` beside the artifact and the
 * run's `companions` (files a model is used with: `source_tables.json`, `reference.json`), whose
 * SHA-256 promotion.json lists so an edited one is noticed. A promotion is staged next to its
 * destination and swapped in by renames, so a failed copy never leaves `current/<name>`
 * half-written or empty.
 */
export async function promote(
  modelDir: string,
  name: string,
  runId: string,
  modelsDir: string,
  gate: GateResult,
  metrics: Record<string, unknown>,
  companions: readonly string[] = [],
): Promise<string> {
  const destination = gate.promoted ? join(modelsDir, 'current', name) : join(modelsDir, 'candidates', runId);
  const staging = `${destination}.staging-${runId}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await cp(modelDir, join(staging, 'model'), { recursive: true });
  const files: Record<string, string> = {};
  for (const path of companions) {
    const bytes = await readFile(path);
    files[basename(path)] = sha256Hex(bytes);
    await writeFile(join(staging, basename(path)), bytes);
  }
  await writeFile(
    join(staging, 'promotion.json'),
    `${JSON.stringify({ runId, promoted: gate.promoted, reasons: gate.reasons, metrics, at: new Date().toISOString(), files }, null, 2)}\n`,
  );
  const replaced = `${destination}.replaced-${runId}`;
  const hadPrevious = existsSync(destination);
  if (hadPrevious) await rename(destination, replaced);
  await rename(staging, destination);
  if (hadPrevious) await rm(replaced, { recursive: true, force: true });
  return destination;
}
