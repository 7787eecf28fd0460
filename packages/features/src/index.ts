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
