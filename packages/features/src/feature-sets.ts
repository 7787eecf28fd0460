import { ValidationError } from '@anomalia/core';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { type FeatureDefinition, QA74_FEATURES } from './definitions';
import { extractQaExtended, QA_EXTENDED_FEATURES } from './extended';
import { extractQa74 } from './extract74';
import type { FeatureMatrix } from './feature-matrix';
import {
  extractQaLongitudinal,
  type LongitudinalOptions,
  QA_LONGITUDINAL_FEATURES,
} from './longitudinal/extract';

/** A named, versioned list of features with its extractor. */
export interface FeatureSet {
  name: string;
  features: readonly FeatureDefinition[];
  /**
   * The history its features compare a record with: `none`; `previous`, the field's previous
   * fraction and repeats within minutes (days of history suffice); or `course`, the course from
   * its first fraction (a caller scoring records one batch at a time must pass each patient's
   * history over a course's length, as training saw it).
   */
  history: 'none' | 'previous' | 'course';
  /** Options a set does not use are ignored (`tracking` and `snapshots` are the longitudinal set's). */
  extract(records: readonly TreatmentRecord[], options?: LongitudinalOptions): FeatureMatrix;
}

/**
 * The feature sets by name. `qa74` is the original 74 features, frozen: models trained on it keep
 * working. `qa74-cohort` appends context features, and `qa74-longitudinal` appends to those the
 * course features of the longitudinal tracker; new features go into new sets, never into an
 * existing one.
 */
export const FEATURE_SETS: Readonly<Record<'qa74' | 'qa74-cohort' | 'qa74-longitudinal', FeatureSet>> =
  Object.freeze({
    qa74: {
      name: 'qa74',
      features: QA74_FEATURES,
      history: 'none',
      extract: (records, options) => extractQa74(records, options),
    },
    'qa74-cohort': {
      name: 'qa74-cohort',
      features: QA_EXTENDED_FEATURES,
      history: 'previous',
      extract: extractQaExtended,
    },
    'qa74-longitudinal': {
      name: 'qa74-longitudinal',
      features: QA_LONGITUDINAL_FEATURES,
      history: 'course',
      extract: extractQaLongitudinal,
    },
  });

export type FeatureSetName = keyof typeof FEATURE_SETS;

export function getFeatureSet(name: string): FeatureSet {
  const set = (FEATURE_SETS as Record<string, FeatureSet>)[name];
  if (!set) throw new ValidationError('featureSet', `one of ${Object.keys(FEATURE_SETS).join(', ')}`, name);
  return set;
}
