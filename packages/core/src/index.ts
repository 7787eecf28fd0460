// The public API of @anomalia/core. Test kits are on '@anomalia/core/testing'.
export {
  type ArtifactContent,
  type ArtifactKeyOption,
  assertTensorShapes,
  type DType,
  isArtifactDir,
  type LoadedArtifact,
  loadArtifact,
  MANIFEST_FILE,
  type Manifest,
  manifestSignature,
  parseArtifactWith,
  readingArtifact,
  requireTensor,
  restoreFromArtifact,
  saveArtifact,
  type TypedArray,
  WEIGHTS_FILE,
} from './artifact';
export {
  ARTIFACT_KEY_ENV,
  ARTIFACT_KEY_FILE_ENV,
  ARTIFACT_KEY_MIN_BYTES,
  ArtifactKey,
  resolveArtifactKey,
} from './artifact-key';
export {
  type CalibrationMethod,
  Calibrator,
  type CalibratorState,
  CalibratorStateSchema,
} from './calibration';
export {
  type CsvDatasetOptions,
  type CsvTable,
  csvTableToDataset,
  loadCsvDataset,
  parseCsvDataset,
  parseCsvTable,
} from './csv';
export {
  BaseDetector,
  type Detector,
  type DetectorParams,
  type FitOptions,
  type FitReport,
  type InputExport,
  type ModelExport,
  type ModelFit,
  type PreparedFit,
} from './detector';
export { ArtifactError, NotFittedError, ValidationError } from './errors';
export { stratifiedGroupKFold, stratifiedGroupSplit } from './group-splits';
export { assertColumns, assertFinite, type Dataset, Matrix } from './matrix';
export {
  BaseMatrixDetector,
  type MatrixDetector,
  type MatrixDetectorParams,
} from './matrix-detector';
export {
  type BinaryMetrics,
  binaryMetrics,
  type ClassificationReport,
  type ClassReportRow,
  type ConfusionMatrix,
  classificationReport,
  confusionMatrix,
  metricsAtThreshold,
  predictAtThreshold,
} from './metrics/classification';
export {
  brierScore,
  type CalibrationBin,
  type EceResult,
  expectedCalibrationError,
} from './metrics/probabilistic';
export { averagePrecision, type PrCurve, prCurve, type RocCurve, rocAuc, rocCurve } from './metrics/ranking';
export { meanAbsoluteError, meanSquaredError, rootMeanSquaredError } from './metrics/regression';
export { Rng } from './rng';
export {
  createScaler,
  MinMaxScaler,
  type NanPolicy,
  RobustScaler,
  type Scaler,
  type ScalerParam,
  ScalerParamSchema,
  type ScalerState,
  StandardScaler,
  scalerFromJSON,
} from './scalers';
export {
  type IndexSplits,
  loadIndexSplits,
  parseIndexSplits,
  stratifiedKFold,
  stratifiedSplit,
  stratifiedTrainTestSplit,
  trainValidationCalibrationTestSplit,
} from './splits';
export { digitize, quantile } from './stats';
export {
  type Contamination,
  ContaminationSchema,
  defaultThreshold,
  type FitSplit,
  fitThreshold,
  type Threshold,
  ThresholdSchema,
  type ThresholdStrategy,
  ThresholdStrategySchema,
} from './thresholds';
export {
  assertNoPrototypeKeys,
  PROTOTYPE_KEYS,
  parseJsonText,
  parseWith,
  validationErrorFromZod,
} from './validation';
