import type { FeatureMatrix, LongitudinalTracker, SnapshotBook } from '@anomalia/features';
import type { TableName, TreatmentRecord } from '@anomalia/mosaiq';
import { categorize, clampToScale, type SeverityBand } from '@anomalia/severity';
import type { PromotedModel } from './models';

/** One scored record. */
export interface ScoredRecord {
  readonly ttxId: number;
  /** The model's score (higher = more anomalous). */
  readonly score: number;
  /** Above the model's threshold; null when the model has none. */
  readonly flagged: boolean | null;
  /** For a model whose scores are severities: the score clipped to [0, 3], and its band. */
  readonly severity: number | null;
  readonly band: SeverityBand | null;
}

export interface ScoreOptions {
  /** Features are computed as of this time (default: now). */
  readonly asOf?: Date;
  /** Earlier records used as context by cohort feature sets (never scored). */
  readonly history?: readonly TreatmentRecord[];
  /**
   * Tables whose features are extracted as unobserved: those the model was trained without
   * (`unused` of `compareSourceTables`), so they stay constant as in training.
   */
  readonly absentTables?: readonly TableName[];
  /**
   * Snapshots of records that never change, kept across calls by a caller that passes the same
   * records again as history (a monitor): the longitudinal feature set then snapshots each once.
   */
  readonly snapshots?: SnapshotBook;
  /**
   * A course tracker kept across calls (a monitor's), for feature sets that follow courses: history
   * it has seen is not replayed, and the records scored join it (see `LongitudinalOptions.tracker`).
   */
  readonly tracker?: LongitudinalTracker;
}

/** Why a model trained on completed, non-QA treatments does not judge a record. */
export type NotJudgedReason = 'qa_mode' | 'incomplete';

/**
 * The reason a record is outside what the model was trained to judge (the training set draws
 * its examples with `isTrainingEligible`: completed beams delivered outside QA mode), or null.
 * A QA-mode beam or a selected, interrupted or cancelled one is not a delivered treatment: the
 * model has never seen one labelled normal, so its energy there is noise, not a finding.
 */
export function notJudgedReason(record: TreatmentRecord): NotJudgedReason | null {
  if (record.treatment.WasQAMode === true) return 'qa_mode';
  if (record.treatment.WasBeamComplete !== true) return 'incomplete';
  return null;
}

/**
 * The model's own feature set for `records` (so columns always meet the weights they were trained
 * with): cohort sets take `history` as context, `absentTables` stay unobserved.
 */
export function modelFeatures(
  model: PromotedModel,
  records: readonly TreatmentRecord[],
  options: ScoreOptions = {},
): FeatureMatrix {
  return model.featureSet.extract(records, {
    ...(options.asOf ? { asOf: options.asOf } : {}),
    ...(options.history && model.featureSet.name !== 'qa74' ? { history: options.history } : {}),
    ...(options.absentTables?.length ? { absentTables: options.absentTables } : {}),
    ...(options.snapshots ? { snapshots: options.snapshots } : {}),
    ...(options.tracker ? { tracker: options.tracker } : {}),
  });
}

/** Scores a feature matrix with the model: `flagged` by its threshold, severities for energy models. */
export async function scoreFeatures(model: PromotedModel, fm: FeatureMatrix): Promise<ScoredRecord[]> {
  const scores = await model.detector.score(fm.X);
  // predict() would score again: the threshold is applied here as predict applies it (score > value).
  const threshold = model.detector.threshold?.value ?? null;
  return Array.from(scores, (score, i) => {
    const severity =
      model.scoresAreSeverities && Number.isFinite(score) ? clampToScale(score, `scores[${i}]`) : null;
    return {
      ttxId: fm.recordIds[i]!,
      score,
      flagged: threshold === null ? null : score > threshold,
      severity,
      band: severity === null ? null : categorize(severity),
    };
  });
}

/**
 * Scores records with a promoted model: the model's own feature set is extracted and scored;
 * `flagged` uses the model's threshold; severities and bands are given for models whose scores
 * are severities.
 */
export async function scoreRecords(
  model: PromotedModel,
  records: readonly TreatmentRecord[],
  options: ScoreOptions = {},
): Promise<ScoredRecord[]> {
  return scoreFeatures(model, modelFeatures(model, records, options));
}
