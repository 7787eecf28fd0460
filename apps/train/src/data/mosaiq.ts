import { join, resolve } from 'node:path';
import { digitize, type Matrix, stratifiedSplit } from '@anomalia/core';
import { unobservedFeatures } from '@anomalia/features';
import { prepareTrainingSet, resolveSource, type TrainingSet } from '@anomalia/qa-workflow';
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
    return splitTrainingSet(set, cfg, seed);
  } catch (error) {
    await set.finish();
    throw error;
  }
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

  const inTraining = meta.flatMap((m, i) => (m.heldOut ? [] : [i]));
  const heldOut = meta.flatMap((m, i) => (m.heldOut ? [i] : []));
  const severity = Float64Array.from(examples, (e) => e.severity);
  const bands = digitize(
    Float64Array.from(inTraining, (i) => severity[i]!),
    BAND_EDGES,
  );
  const fractions = fractionsOf(cfg.split);
  const context = exampleContext(set);
  const times = Float64Array.from(inTraining, (i) => context.times[i]!);
  const groups = Int32Array.from(inTraining, (i) => context.groups[i]!);
  const randomSplit = () => stratifiedSplit(bands, fractions, seed);
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
      : { by: 'random', description: 'stratified by severity band' },
    folds: (k) => ({
      scheme: `${k} folds stratified by severity band and grouped by patient (${context.nPatients} patients in ${new Set(groups).size} groups, the largest of ${context.largestGroup} examples: patients one corruption touches together form one group): a patient's examples are all in one fold, and within a fold in one of train / validation / calibration`,
      folds: pooledFolds(bands, k, seed, fractions, groups).map((s) => partsOf(s, false)),
    }),
    ...(cfg.split.by === 'time'
      ? {
          views: [
            {
              name: 'random split',
              description: 'the same examples split at random, stratified by severity band',
              parts: partsOf(randomSplit()),
            },
          ],
        }
      : {}),
    notes: [
      `Source ${set.sourceName} (read-only); cohort: ${set.cohort.records.length} treatments from ${window.from.toISOString().slice(0, 10)} to ${asOf.toISOString().slice(0, 10)}, ${set.cohort.eligible} completed non-QA.`,
      `Corruption plan (seed ${seed}): ${plan.applications.length} applications, ${plan.changes.length} changes, ${plan.labels.length} affected records; strata ${plan.strata.map((s) => `${s.stratum} ${s.planned}`).join(', ')}.`,
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
    },
    finish: async () => ({ sourceTables: set.sourceTables, sandbox: await set.finish() }),
  };
}
