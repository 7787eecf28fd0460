/**
 * @anomalia/failure-modes: every Mosaiq failure mode as a pure, seeded, reversible transform with
 * a zod parameter schema and its severity (from `@anomalia/severity/mosaiq`), the cohort they work
 * on, and `planCorruption`, a severity-balanced labelled training plan.
 */
export {
  ACCIDENTAL_FAILURE_MODES,
  createFailureCatalogue,
  type FailureCatalogue,
  failureCatalogue,
} from './catalogue';
export { type Cohort, createCohort } from './cohort';
export { NotApplicableError, UnimplementedFailureModeError } from './errors';
export {
  type ApplyInput,
  defineFailureMode,
  defineVariant,
  type FailureApplication,
  type FailureMode,
  type FailureModeDefinition,
  type FailureScope,
  type FailureVariant,
  noParams,
  type VariantContext,
  type VariantDefinition,
  type VariantOutcome,
} from './failure-mode';
export { type Impact, impactOf } from './impact';
export { createKeyAllocator, type KeyAllocator, type KeyAllocatorOptions } from './keys';
export { corruptMlcData } from './modes/corrupt-mlc-data';
export { duplicateTreatments } from './modes/duplicate-treatments';
export { invalidAngles } from './modes/invalid-angles';
export { invalidOffsetData } from './modes/invalid-offset-data';
export { metersetInconsistency } from './modes/meterset-inconsistency';
export { missingControlPoints } from './modes/missing-control-points';
export { mlcLeafCountMismatch } from './modes/mlc-leaf-count-mismatch';
export { nullRequiredFields } from './modes/null-required-fields';
export { orphanedRecords } from './modes/orphaned-records';
export { timestampInconsistencies } from './modes/timestamp-inconsistencies';
export { type PointSelection, paramsJsonSchema, pointSelection } from './params';
export {
  type CorruptionPlan,
  type CorruptionPlanOptions,
  type Holdout,
  type LabelledExample,
  type PlannedPairCount,
  planCorruption,
  type RecordLabel,
} from './plan';
