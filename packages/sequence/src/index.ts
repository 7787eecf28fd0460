// The public API of @anomalia/sequence.

export {
  type DriftMetrics,
  driftMetrics,
  histogram,
  jensenShannonDistance,
  klDivergence,
  populationStabilityIndex,
} from './drift/drift-metrics';
export {
  ALERT_TYPES,
  type AlertSeverity,
  type AnomalyAlert,
  type AnomalyType,
  DriftMonitor,
  type DriftMonitorDependencies,
  type DriftMonitorOptions,
  type DriftReport,
} from './drift/drift-monitor';
export { type EvaluationInput, evaluateUnsupervised, type UnsupervisedEvaluation } from './evaluate';
export {
  checkPromotionGate,
  type GateDecision,
  type PromotionGate,
  type PromotionResult,
  promoteModel,
  type ValidationMetrics,
  validationMetrics,
} from './gate';
export { parseSequences, readSequencesFile } from './io';
export {
  type LabelledSequence,
  NGramClassifier,
  type NGramClassifierFitReport,
  type NGramClassifierParams,
  type NGramClassifierParamsInput,
  NGramClassifierParamsSchema,
  type Prediction,
  unzipLabelled,
} from './ngram-classifier';
export {
  SequenceAnomalyDetector,
  type SequenceDetectorParams,
  type SequenceDetectorParamsInput,
  SequenceDetectorParamsSchema,
  type SequenceFitReport,
} from './sequence-detector';
export { SIGNAL_NAMES, type SignalName } from './signals';
export {
  type AnomalyKind,
  generateSyntheticSamples,
  type SyntheticOptions,
  type SyntheticSample,
} from './synthetic';
export type { Sequence, Sequences } from './validate';
