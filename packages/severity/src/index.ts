/**
 * @anomalia/severity: the 0–3 severity scale.
 *
 * - bands: `categorize`, `SEVERITY_BANDS`, `BAND_THRESHOLDS`, `describeSeverity`
 * - routing: `route`, `responseTime`, `CRITICAL_TIERS`
 * - catalogue: `defineCatalogue`, `createSeverityScale` (the Mosaiq catalogue: `@anomalia/severity/mosaiq`)
 * - malice: `maliciousSeverity`, `escalateSeverity`, `maliciousProbability`, `assessMalice`,
 *   graded evidence: `maliciousProbabilityFromEvidence`, `assessMaliceFromEvidence`
 * - evaluation and planning: `calibrationCheck`, `samplingPlan`, `dailyReport`
 */
export {
  BAND_IDS,
  BAND_THRESHOLDS,
  type BandDefinition,
  bandRank,
  categorize,
  describeSeverity,
  getBand,
  isAnomalous,
  isInDocumentedGap,
  SEVERITY_BANDS,
  type SeverityBand,
} from './bands';
export {
  type BandCalibration,
  type CalibrationCheckResult,
  type CalibrationReport,
  type CalibrationTargets,
  calibrationCheck,
  DEFAULT_CALIBRATION_TARGETS,
  formatCalibrationReport,
} from './calibration';
export {
  type Catalogue,
  type CatalogueInput,
  type CatalogueMode,
  CatalogueModeSchema,
  CatalogueSchema,
  type CatalogueVariant,
  CatalogueVariantSchema,
  defineCatalogue,
  FailureModeIdSchema,
  type FailureModeKind,
  FailureModeKindSchema,
  type ReadonlyCatalogueInput,
  SeverityValueSchema,
} from './catalogue';
export { SeverityValidationError, UnknownFailureModeError, UnknownVariantError } from './errors';
export {
  assessMalice,
  assessMaliceFromEvidence,
  type Escalation,
  type EvidenceAssessment,
  type EvidenceStrengths,
  escalateSeverity,
  type IndicatorInput,
  MALICIOUS_FACTOR_WEIGHTS,
  MALICIOUS_INDICATOR_WEIGHTS,
  type MaliceAssessment,
  type MaliciousFactor,
  type MaliciousFactors,
  MaliciousFactorsSchema,
  type MaliciousRecommendation,
  type MaliciousResponseLevel,
  type MaliciousSeverity,
  maliciousProbability,
  maliciousProbabilityFromEvidence,
  maliciousSeverity,
  type ProbabilityOptions,
  recommendMaliciousResponse,
} from './malicious';
export {
  CRITICAL_ALERT_LINE,
  type DailyReport,
  type DailyReportTextOptions,
  dailyReport,
  formatDailyReport,
} from './report';
export {
  BAND_RESPONSE_TIMES,
  CRITICAL_TIERS,
  type CriticalTier,
  type CriticalTierDefinition,
  criticalTier,
  DEFAULT_PLAYBOOK,
  moreUrgent,
  type Playbook,
  PlaybookSchema,
  type ResponseTime,
  ROUTING_ACTIONS,
  type RouteOptions,
  type RoutingAction,
  type RoutingDecision,
  responseTime,
  route,
} from './routing';
export {
  allocateLargestRemainder,
  DEFAULT_SAMPLING_MIX,
  type SamplingMix,
  SamplingMixSchema,
  STRATA,
  STRATUM_BAND,
  type Stratum,
  samplingPlan,
} from './sampling';
export {
  type CataloguePair,
  type CatalogueSamplingPlan,
  createSeverityScale,
  type PlannedPair,
  type SeverityAssessment,
  type SeverityScale,
  type StratumPlan,
} from './scale';
export { clampToScale, SCALE_MAX, SCALE_MIN } from './validate';
