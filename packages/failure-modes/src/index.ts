/**
 * @anomalia/failure-modes: every Mosaiq failure mode, accidental and malicious, as a pure, seeded,
 * reversible transform with a zod parameter schema and its severity (from
 * `@anomalia/severity/mosaiq`), the cohort (and courses) they work on, and `planCorruption`, a
 * severity-balanced labelled training plan.
 */
export {
  ACCIDENTAL_FAILURE_MODES,
  createFailureCatalogue,
  type FailureCatalogue,
  failureCatalogue,
  MALICIOUS_FAILURE_MODES,
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
export {
  type FieldCourse,
  type Fraction,
  NON_TREATMENT_FIELD_TYPES,
  type PlanCourse,
  planCourse,
  planCourseOf,
  plansOfPatient,
  SESSION_GAP_MS,
  type Session,
  setIdOf,
} from './malicious/course';
export { corruptMlcData } from './modes/corrupt-mlc-data';
export { duplicateTreatments } from './modes/duplicate-treatments';
export { invalidAngles } from './modes/invalid-angles';
export { invalidOffsetData } from './modes/invalid-offset-data';
export { auditTrailManipulation } from './modes/malicious/audit-trail-manipulation';
export { collimatorJawManipulation } from './modes/malicious/collimator-jaw-manipulation';
export { coordinatedMultifieldAttack } from './modes/malicious/coordinated-multifield-attack';
export { fieldApertureManipulation } from './modes/malicious/field-aperture-manipulation';
export { gradualParameterDrift } from './modes/malicious/gradual-parameter-drift';
export { selectiveFractionSabotage } from './modes/malicious/selective-fraction-sabotage';
export { statisticalCamouflage } from './modes/malicious/statistical-camouflage';
export { subtleDoseEscalation } from './modes/malicious/subtle-dose-escalation';
export { targetedPatientSelection } from './modes/malicious/targeted-patient-selection';
export { timeDelayedCorruption } from './modes/malicious/time-delayed-corruption';
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
