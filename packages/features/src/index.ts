/**
 * @anomalia/features: Mosaiq TreatmentRecords → named feature matrices (the frozen 74 QA
 * features and the cohort set), missing-value helpers, and domain-free windows over series.
 */
export {
  type FeatureCategory,
  type FeatureDefinition,
  type FeatureUnit,
  QA74_FEATURE_NAMES,
  QA74_FEATURES,
} from './definitions';
export {
  type ExtendedOptions,
  extractQaExtended,
  QA_EXTENDED_FEATURE_NAMES,
  QA_EXTENDED_FEATURES,
} from './extended';
export { createQa74Buffer, type ExtractOptions, extractQa74, extractQa74Into, QA74_COLS } from './extract74';
export {
  type FeatureMatrix,
  isMissing,
  missingCounts,
  toDataset,
  withMissingIndicators,
} from './feature-matrix';
export { FEATURE_SETS, type FeatureSet, type FeatureSetName, getFeatureSet } from './feature-sets';
export { featureTables } from './feature-tables';
export type { CourseAlarm, CourseState, ParameterSummary } from './longitudinal/course';
export {
  LONGITUDINAL_FEATURE_NAMES,
  LONGITUDINAL_FEATURES,
} from './longitudinal/definitions';
export {
  assessPatientMalice,
  type EvidenceId,
  type EvidenceItem,
  type EvidenceOptions,
  EvidenceOptionsSchema,
  type GroupTest,
  ISOLATED_AUDIT_ROW_STRENGTH,
  type PatientMaliceAssessment,
  targetingTests,
} from './longitudinal/evidence';
export {
  extractQaLongitudinal,
  type LongitudinalOptions,
  QA_LONGITUDINAL_FEATURE_NAMES,
  QA_LONGITUDINAL_FEATURES,
} from './longitudinal/extract';
export { GROUP_SERIES_KINDS, type GroupSeriesKind } from './longitudinal/group-events';
export {
  type GroupPeriod,
  type GroupReview,
  type GroupReviewOptions,
  GroupReviewOptionsSchema,
  type GroupTestResult,
  reviewGroups,
} from './longitudinal/group-review';
export {
  type GroupDimension,
  type GroupSeries,
  type GroupSeriesOptions,
  GroupSeriesOptionsSchema,
  type GroupSeriesSet,
  groupSeries,
  staffRolesOf,
  UNKNOWN_ROLE,
} from './longitudinal/group-series';
export {
  parseTrackerOptions,
  type TrackerOptions,
  type TrackerOptionsInput,
  TrackerOptionsSchema,
} from './longitudinal/options';
export {
  deviation,
  type ParameterFamily,
  type ParameterKind,
  type ParameterScale,
  SERIES_PARAMETER_IDS,
  SERIES_PARAMETERS,
  type SeriesParameter,
  type SeriesParameterId,
} from './longitudinal/parameters';
export {
  type CourseFinding,
  type CourseReview,
  type ReviewOptions,
  ReviewOptionsSchema,
  reviewCourses,
} from './longitudinal/review';
export {
  courseKeyOf,
  type FractionSnapshot,
  IMAGING_FIELD_TYPES,
  isCourseDelivery,
  SnapshotBook,
  snapshotOf,
} from './longitudinal/snapshot';
export {
  type FractionSnapshotJSON,
  FractionSnapshotSchema,
  type TrackerState,
  TrackerStateSchema,
} from './longitudinal/state';
export { LongitudinalTracker, type Observation } from './longitudinal/tracker';
export { FEATURE_TABLES, unobservedFeatures } from './source-tables';
export {
  ChannelNormalizer,
  type ChannelNormalizerState,
  ChannelNormalizerStateSchema,
  interpolateGaps,
  slidingWindows,
  type WindowOptions,
  type Windows,
  windowAt,
  windowsToMatrix,
} from './windows';
