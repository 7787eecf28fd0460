import type { TreatmentRecord } from '@anomalia/mosaiq';
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
}

/**
 * Scores records with a promoted model: the model's own feature set is extracted (so columns
 * always meet the weights they were trained with) and scored; `flagged` uses the model's
 * threshold; severities and bands are given for models whose scores are severities.
 */
export async function scoreRecords(
  model: PromotedModel,
  records: readonly TreatmentRecord[],
  options: ScoreOptions = {},
): Promise<ScoredRecord[]> {
  const fm = model.featureSet.extract(records, {
    ...(options.asOf ? { asOf: options.asOf } : {}),
    ...(options.history && model.featureSet.name !== 'qa74' ? { history: options.history } : {}),
  });
  const scores = await model.detector.score(fm.X);
  const flags = model.detector.threshold ? await model.detector.predict(fm.X) : null;
  return Array.from(scores, (score, i) => {
    const severity = model.scoresAreSeverities ? clampToScale(score, `scores[${i}]`) : null;
    return {
      ttxId: fm.recordIds[i]!,
      score,
      flagged: flags ? flags[i] === 1 : null,
      severity,
      band: severity === null ? null : categorize(severity),
    };
  });
}
