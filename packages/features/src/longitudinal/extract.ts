import { Matrix, ValidationError } from '@anomalia/core';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import type { FeatureDefinition } from '../definitions';
import { type ExtendedOptions, extractQaExtended, QA_EXTENDED_FEATURES } from '../extended';
import type { FeatureMatrix } from '../feature-matrix';
import { unobservedColumns } from '../feature-tables';
import { LONGITUDINAL_COLS, LONGITUDINAL_FEATURES } from './definitions';
import type { TrackerOptionsInput } from './options';
import type { SnapshotBook } from './snapshot';
import { LongitudinalTracker } from './tracker';

/** The 87 columns of `qa74-cohort` followed by the longitudinal ones. */
export const QA_LONGITUDINAL_FEATURES: readonly FeatureDefinition[] = Object.freeze([
  ...QA_EXTENDED_FEATURES,
  ...LONGITUDINAL_FEATURES,
]);
export const QA_LONGITUDINAL_FEATURE_NAMES: readonly string[] = Object.freeze(
  QA_LONGITUDINAL_FEATURES.map((f) => f.name),
);

export interface LongitudinalOptions extends ExtendedOptions {
  /** The tracker's test settings (defaults: `TrackerOptionsSchema`). */
  tracking?: TrackerOptionsInput;
  /**
   * Snapshots of records that never change (see `SnapshotBook`), e.g. a monitor's, whose history
   * records come back batch after batch.
   */
  snapshots?: SnapshotBook;
  /**
   * A tracker that follows the clinic across calls (a monitor's, whose course checks use it too):
   * the history records it already knows are not fed again, and the batch stays in it for the
   * next call. Its courses then reach back to the first fraction it saw, as training's tracker
   * did over the whole cohort, and its set-up noise is pooled over every course it follows.
   * `tracking` and `snapshots` are then the tracker's own. Default: a fresh tracker per call.
   */
  tracker?: LongitudinalTracker;
}

/**
 * `qa74-longitudinal`: the `qa74-cohort` features, then the longitudinal ones. History and batch
 * are merged in delivery order (a batch record supersedes its history version) and fed through one
 * `LongitudinalTracker`, exactly as a monitor would have seen them one at a time; each batch
 * record's features are those the tracker returns when it reaches it. With `options.tracker`, that
 * tracker is fed instead of a fresh one, so history it has seen is not replayed.
 */
export function extractQaLongitudinal(
  records: readonly TreatmentRecord[],
  options: LongitudinalOptions = {},
): FeatureMatrix {
  const base = extractQaExtended(records, options);
  const history = options.history ?? [];
  if (options.tracker !== undefined && !(options.tracker instanceof LongitudinalTracker))
    throw new ValidationError('options.tracker', 'a LongitudinalTracker', options.tracker);
  const tracker =
    options.tracker ??
    new LongitudinalTracker(
      options.tracking ?? {},
      options.snapshots ? { snapshots: options.snapshots } : {},
    );
  const inBatch = new Set(records.map((r) => r.treatment.TTX_ID));
  type Item = { r: TreatmentRecord; row: number };
  const items: Item[] = [];
  for (const r of history) {
    const id = r.treatment.TTX_ID;
    if (!inBatch.has(id) && !(options.tracker && tracker.knows(id))) items.push({ r, row: -1 });
  }
  records.forEach((r, row) => {
    items.push({ r, row });
  });
  const time = (r: TreatmentRecord) => r.treatment.Create_DtTm?.getTime() ?? Number.POSITIVE_INFINITY;
  items.sort((a, b) => time(a.r) - time(b.r) || a.r.treatment.TTX_ID - b.r.treatment.TTX_ID || a.row - b.row);

  const n = records.length;
  const E = QA_EXTENDED_FEATURES.length;
  const cols = E + LONGITUDINAL_COLS;
  const x = new Float64Array(n * cols);
  const m = new Uint8Array(n * cols);
  for (let i = 0; i < n; i++) {
    x.set(base.X.data.subarray(i * E, (i + 1) * E), i * cols);
    m.set(base.missing.subarray(i * E, (i + 1) * E), i * cols);
  }
  for (const { r, row } of items) {
    // A history record only builds the courses: its feature row would be thrown away.
    if (row < 0) {
      tracker.track(r);
      continue;
    }
    const o = tracker.observe(r);
    x.set(o.features, row * cols + E);
    m.set(o.missing, row * cols + E);
  }
  const unobserved = unobservedColumns(QA_LONGITUDINAL_FEATURES, options.absentTables).filter((j) => j >= E);
  for (let i = 0; i < n; i++) {
    for (const j of unobserved) {
      x[i * cols + j] = QA_LONGITUDINAL_FEATURES[j]!.missingValue;
      m[i * cols + j] = 0;
    }
  }
  return {
    X: new Matrix(n, cols, x),
    featureNames: [...QA_LONGITUDINAL_FEATURE_NAMES],
    missing: m,
    recordIds: base.recordIds,
  };
}
