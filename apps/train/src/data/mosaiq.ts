import { join, resolve } from 'node:path';
import { digitize, type Matrix, stratifiedSplit } from '@anomalia/core';
import { unobservedFeatures } from '@anomalia/features';
import {
  buildFeatureReference,
  evaluateLongitudinalDetection,
  type LongitudinalEvaluation,
  prepareTrainingSet,
  resolveSource,
  type TrainingSet,
} from '@anomalia/qa-workflow';
import { BAND_THRESHOLDS, SCALE_MAX } from '@anomalia/severity';
import { ConfigError } from '../config/load';
import { fractionsOf, type TrainConfig } from '../config/schema';
import type { Progress } from '../progress';
import { pooledFolds, type SplitIndices, timeSplit } from './folds';
import { exampleContext } from './mosaiq-examples';
import type { MatrixData, MatrixPart, MatrixParts, RowMeta } from './types';

type MosaiqConfig = Extract<TrainConfig['dataset'], { kind: 'mosaiq' }>;

/** Severity band edges: normal < 0.4 ≤ low < 1.0 ≤ medium < 1.8 ≤ high < 2.5 ≤ critical. */
const BAND_EDGES = [
  BAND_THRESHOLDS.low,
  BAND_THRESHOLDS.medium,
  BAND_THRESHOLDS.high,
  BAND_THRESHOLDS.critical,
];

/** `s` moved at least `margin` inside its severity band (the scale's ends stay where they are). */
export function insideBand(s: number, margin: number): number {
  let lo = 0;
  let hi = SCALE_MAX;
  for (const edge of BAND_EDGES) {
    if (s >= edge) lo = edge;
    else {
      hi = edge;
      break;
    }
  }
  const floor = lo > 0 ? lo + margin : lo;
  const ceiling = hi < SCALE_MAX ? hi - margin : hi;
  return Math.min(Math.max(s, floor), ceiling);
}

/**
 * The Mosaiq dataset: the shared training workflow of @anomalia/qa-workflow (source read-only,
 * cohort of the last `recentDays`, seeded corruption plan applied to a sandbox copy, examples read
 * back as features, sandbox restored by `finish`), then the splits: stratified by severity band,
 * held-out variants in the test split only.
 */
export async function prepareMosaiq(
  cfg: MosaiqConfig,
  seed: number,
  runDir: string,
  progress: Progress,
): Promise<MatrixData> {
  const set = await prepareTrainingSet({
    source: resolveSource(cfg.source, 'dataset.source'),
    ...(cfg.synthesizeIfMissing ? { synthesizeIfMissing: cfg.synthesizeIfMissing } : {}),
    recentDays: cfg.recentDays,
    normal: cfg.normal,
    adversarial: cfg.adversarial,
    includeMalicious: cfg.includeMalicious,
    seed,
    sandboxPath: resolve(cfg.sandbox ?? join(runDir, 'sandbox.sqlite')),
    keepSandbox: Boolean(cfg.sandbox),
    allowUnrestoredRuns: cfg.allowUnrestoredRuns,
    featureSet: cfg.features,
    progress,
    configPath: 'dataset',
  });
  try {
    const data = splitTrainingSet(set, cfg, seed);
    if (cfg.includeMalicious && cfg.longitudinal.enabled) {
      progress.stage(
        `longitudinal evaluation: each malicious variant on ${cfg.longitudinal.applicationsPerVariant} courses`,
      );
      const longitudinal = evaluateLongitudinalDetection({
        cohort: set.cohort.index,
        seed,
        applicationsPerVariant: cfg.longitudinal.applicationsPerVariant,
        tolerance: cfg.longitudinal.tolerance,
        progress,
      });
      data.longitudinal = longitudinal;
      data.notes.push(longitudinalNote(longitudinal));
      data.files = {
        ...data.files,
        'longitudinal_detection.json': `${JSON.stringify(longitudinal, null, 2)}\n`,
      };
    }
    return data;
  } catch (error) {
    await set.finish();
    throw error;
  }
}

/** One line for the notes: the issue-17 target on courses above the clinical tolerance. */
export function longitudinalNote(e: LongitudinalEvaluation): string {
  const judged = e.variants.filter((v) => v.overTolerance.courses > 0);
  const met = judged.filter((v) => (v.overTolerance.rate ?? 0) >= 0.9);
  return `Longitudinal alarms: ${met.length} of ${judged.length} malicious variants with courses above the clinical tolerance (≥ ${e.tolerance.dosePercent} % cumulative dose or ≥ ${e.tolerance.geometryMm} mm) are detected in ≥ 90 % of those courses; ${(e.clean.rate * 100).toFixed(2)} % of ${e.clean.courses} clean courses alarmed (target ≤ 1 %).`;
}

/**
 * Examples beyond their (mode, variant)'s even share of its severity stratum. When a pair runs
 * out of targets (field-scope modes compete for the cohort's fields), the plan hands its slots to
 * the pairs that still have some; one variant can then make up half a band (e.g. an offset-state
 * corruption at 0.9 filling the low band), and the band's mean, which seed 001's separations
 * compare, measures that variant rather than the band. These examples are left out of training
 * and evaluation (their records stay corrupted, so they are never normal examples either).
 */
export function examplesOverShare(plan: TrainingSet['plan']): Set<number> {
  const pairs = new Map<string, number>();
  for (const p of plan.pairs) pairs.set(p.stratum, (pairs.get(p.stratum) ?? 0) + 1);
  const share = new Map<string, number>();
  for (const s of plan.strata) {
    const n = pairs.get(s.stratum);
    if (n) share.set(s.stratum, Math.ceil(s.requested / n));
  }
  const taken = new Map<string, number>();
  const over = new Set<number>();
  plan.examples.forEach((e, i) => {
    if (e.mode === null) return;
    const key = `${e.mode}/${e.variant}`;
    const k = (taken.get(key) ?? 0) + 1;
    taken.set(key, k);
    if (k > (share.get(e.stratum) ?? Number.POSITIVE_INFINITY)) over.add(i);
  });
  return over;
}

function splitTrainingSet(set: TrainingSet, cfg: MosaiqConfig, seed: number): MatrixData {
  const { plan, features: fm, featureSet } = set;
  const { window, asOf } = set.cohort;
  const examples = plan.examples;
  const holdout = new Set(cfg.holdoutVariants);
  const meta: RowMeta[] = examples.map((e) => ({
    ttxId: e.ttxId,
    mode: e.mode,
    variant: e.variant,
    severity: e.severity,
    heldOut: e.mode !== null && holdout.has(`${e.mode}/${e.variant}`),
  }));
  const unknownHoldouts = [...holdout].filter((h) => !meta.some((m) => `${m.mode}/${m.variant}` === h));
  if (unknownHoldouts.length)
    throw new ConfigError(
      'dataset.holdoutVariants',
      `pairs the plan produced; none of ${unknownHoldouts.join(', ')} was planned (check the names)`,
    );

  const over = cfg.balanceVariants ? examplesOverShare(plan) : new Set<number>();
  const inTraining = meta.flatMap((m, i) => (m.heldOut || over.has(i) ? [] : [i]));
  const heldOut = meta.flatMap((m, i) => (m.heldOut ? [i] : []));
  const severity = Float64Array.from(examples, (e) => e.severity);
  const bands = digitize(
    Float64Array.from(inTraining, (i) => severity[i]!),
    BAND_EDGES,
  );
  // The random split is stratified by (mode, variant), which nests the severity bands: every
  // variant keeps its share in every split, so a band's mean energy on the test split does not
  // hinge on how many examples of one hard variant the draw put there.
  const variantIds = new Map<string, number>();
  const variants = Float64Array.from(inTraining, (i) => {
    const key = meta[i]!.mode === null ? 'normal' : `${meta[i]!.mode}/${meta[i]!.variant}`;
    if (!variantIds.has(key)) variantIds.set(key, variantIds.size);
    return variantIds.get(key)!;
  });
  const fractions = fractionsOf(cfg.split);
  const context = exampleContext(set);
  const times = Float64Array.from(inTraining, (i) => context.times[i]!);
  const groups = Int32Array.from(inTraining, (i) => context.groups[i]!);
  const randomSplit = () => stratifiedSplit(variants, fractions, seed);
  const timed = cfg.split.by === 'time' ? timeSplit(times, bands, fractions, seed) : null;
  const split = timed ?? randomSplit();
  const rows = (idx: number[], margin = 0): MatrixPart => ({
    X: (fm.X as Matrix).selectRows(idx),
    target: Float64Array.from(idx, (i) => insideBand(severity[i]!, margin)),
    y: Float64Array.from(idx, (i) => (severity[i]! >= BAND_EDGES[0]! ? 1 : 0)),
    meta: idx.map((i) => meta[i]!),
  });
  const part = (local: ArrayLike<number>, margin = 0) =>
    rows(
      Array.from(local, (k) => inTraining[k]!),
      margin,
    );
  const partsOf = (s: SplitIndices, withHeldOut = true): MatrixParts => ({
    train: part(s.train, cfg.bandMargin),
    validation: part(s.validation, cfg.bandMargin),
    calibration: part(s.calibration),
    test: part(s.test),
    ...(withHeldOut && heldOut.length ? { heldOut: rows(heldOut) } : {}),
  });
  const untimed = times.filter((t) => Number.isNaN(t)).length;
  // The monitor's data-mismatch guard compares live features with the training normals' bins.
  const normals = Array.from(split.train, (k) => inTraining[k]!).filter((i) => severity[i]! < BAND_EDGES[0]!);
  const reference = buildFeatureReference(
    (fm.X as Matrix).selectRows(normals),
    fm.featureNames,
    featureSet.name,
    'training normals: completed non-QA treatments of the train split that no change touched',
  );
  const csv = [
    'ttx_id,mode,variant,severity,held_out',
    ...meta
      .filter((m) => m.mode)
      .map((m) => `${m.ttxId},${m.mode},${m.variant},${m.severity},${m.heldOut ? 1 : 0}`),
  ].join('\n');

  return {
    kind: 'matrix',
    featureNames: [...fm.featureNames],
    graded: true,
    parts: partsOf(split),
    split: timed
      ? {
          by: 'time',
          description: `the ${timed.test.length} most recent examples (source Create_DtTm from ${new Date(timed.cut).toISOString().slice(0, 16)}) are the test split; the older ones are split stratified by severity band into train / validation / calibration${untimed ? ` (${untimed} without a time count as oldest)` : ''}`,
        }
      : { by: 'random', description: 'stratified by failure-mode variant (which nests the severity bands)' },
    folds: (k) => ({
      scheme: `${k} folds stratified by severity band and grouped by patient (${context.nPatients} patients in ${new Set(groups).size} groups, the largest of ${context.largestGroup} examples: patients one corruption touches together form one group): a patient's examples are all in one fold, and within a fold in one of train / validation / calibration`,
      folds: pooledFolds(bands, k, seed, fractions, groups).map((s) => partsOf(s, false)),
    }),
    ...(cfg.split.by === 'time'
      ? {
          views: [
            {
              name: 'random split',
              description: 'the same examples split at random, stratified by failure-mode variant',
              parts: partsOf(randomSplit()),
            },
          ],
        }
      : {}),
    notes: [
      `Source ${set.sourceName} (read-only); cohort: ${set.cohort.records.length} treatments from ${window.from.toISOString().slice(0, 10)} to ${asOf.toISOString().slice(0, 10)}, ${set.cohort.eligible} completed non-QA.`,
      `Corruption plan (seed ${seed}): ${plan.applications.length} applications, ${plan.changes.length} changes, ${plan.labels.length} affected records; strata ${plan.strata.map((s) => `${s.stratum} ${s.planned}`).join(', ')}.`,
      ...(over.size
        ? [
            `Balanced within bands: ${over.size} examples beyond their variant's even share of its stratum left out (${[
              ...new Set([...over].map((i) => `${meta[i]!.mode}/${meta[i]!.variant}`)),
            ].join(', ')}).`,
          ]
        : []),
      ...(plan.shortfall.length
        ? [`Shortfall: ${plan.shortfall.map((s) => `${s.stratum} −${s.missing} (${s.reason})`).join('; ')}.`]
        : []),
      ...(heldOut.length
        ? [
            `Held out of training and evaluated apart from the test split: ${[...holdout].join(', ')} (${heldOut.length} examples).`,
          ]
        : []),
      `Features (${featureSet.name}) extracted as of ${asOf.toISOString()} (the cohort's latest timestamp).`,
      ...(set.sourceTables.absent.length
        ? [
            `The source's extract has no ${set.sourceTables.absent.join(', ')}: ${
              unobservedFeatures(
                featureSet.features.map((f) => f.name),
                set.sourceTables.absent,
              ).length
            } features from them are unobserved (constant), and this model does not apply to a source without ${set.sourceTables.present.join(', ')}.`,
          ]
        : []),
      ...(cfg.bandMargin > 0
        ? [
            `Training and validation targets moved ${cfg.bandMargin} inside their severity band; calibration and test use the true severities.`,
          ]
        : []),
    ],
    files: {
      'failure_mode_records.csv': `${csv}\n`,
      // The tables the model was trained with: applying it to a source lacking one is refused.
      'source_tables.json': `${JSON.stringify(set.sourceTables, null, 2)}\n`,
      'reference.json': `${JSON.stringify(reference)}\n`,
    },
    finish: async () => ({ sourceTables: set.sourceTables, sandbox: await set.finish() }),
  };
}
