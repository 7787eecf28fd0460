/**
 * @anomalia/qa-workflow (private): the Mosaiq QA workflow the train app, the MCP server and the
 * monitor share. Sources are opened from config through a registry of source types; cohorts,
 * corruption plans and sandbox runs are built here; promoted models are loaded with the feature
 * set they were trained on and score records.
 */
export {
  databaseKeyAllocator,
  keyFloor,
  LOAD_BATCH,
  listAllTreatments,
  loadPatientCohort,
  loadRecentCohort,
  loadRecordsInBatches,
  type PatientScope,
  type RecentCohort,
  scopeOf,
} from './cohort';
export {
  type Corruption,
  type CorruptionLimits,
  type CorruptionRequest,
  computeCorruption,
} from './corruption';
export { type CourseEffect, courseEffect } from './course-effect';
export { type HistoryStats, PatientHistory, type PatientHistoryOptions } from './history';
export {
  evaluateLongitudinalDetection,
  type LongitudinalEvaluation,
  type LongitudinalEvaluationInput,
  type LongitudinalEvaluationOptionsInput,
  LongitudinalEvaluationOptionsSchema,
  type VariantDetection,
} from './longitudinal-evaluation';
export {
  checkFeatureSet,
  FeatureSetMismatchError,
  type LoadPromotedModelOptions,
  loadPromotedModel,
  MODEL_COMPANION_FILES,
  type ModelKind,
  type PromotedModel,
  type PromotionRecord,
  sha256Hex,
} from './models';
export { treatmentsWithOwnRowsChanged } from './monitor-view';
export type { WorkflowProgress } from './progress';
export {
  buildFeatureReference,
  DriftWindow,
  type FeatureBins,
  type FeatureDrift,
  type FeatureReference,
  FeatureReferenceSchema,
  parseFeatureReference,
  populationStability,
} from './reference';
export { corruptSandboxCopy, type SandboxReport, type SandboxRun } from './sandbox-run';
export {
  modelFeatures,
  type NotJudgedReason,
  notJudgedReason,
  type ScoredRecord,
  type ScoreOptions,
  scoreFeatures,
  scoreRecords,
} from './scoring';
export { type MssqlSource, MssqlSourceSchema, mssqlTargetInput } from './sources/mssql';
export {
  cloneToSqliteSandbox,
  describeSource,
  openSandbox,
  openSource,
  resolveSource,
  SOURCE_TYPES,
  type SourceConfig,
  SourceConfigSchema,
  type SourceInput,
  SourceInputSchema,
  sourceExists,
  synthesizeSource,
} from './sources/registry';
export { type SqliteSource, SqliteSourceSchema } from './sources/sqlite';
export type {
  KeyCeilings,
  OpenSandbox,
  OpenSource,
  SourceReader,
  SourceType,
  SyntheticClinic,
} from './sources/types';
export {
  isTrainingEligible,
  prepareTrainingSet,
  type TrainingSet,
  type TrainingSetOptions,
  trainingMix,
} from './training-set';
