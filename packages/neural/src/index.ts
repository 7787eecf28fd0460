export { selectMostUncertain } from './active-learning';
export {
  AutoEncoder,
  type AutoEncoderInput,
  type AutoEncoderParams,
  AutoEncoderParamsSchema,
} from './autoencoder';
export {
  EnergyModel,
  type EnergyModelInput,
  type EnergyModelParams,
  EnergyModelParamsSchema,
} from './energy-model';
export {
  BACKEND_ENV,
  BACKENDS,
  type BackendChoice,
  type BackendInfo,
  type BackendName,
  currentBackend,
  initBackend,
} from './engine';
export { Ensemble, type EnsembleScores } from './ensemble';
export {
  type FineTuneOptions,
  NeuralDetector,
  type NeuralFitReport,
  type Normalization,
  NormalizationSchema,
  type Uncertainty,
} from './neural-detector';
export { pca2d } from './pca';
export {
  VariationalAutoEncoder,
  type VariationalAutoEncoderInput,
  type VariationalAutoEncoderParams,
  VariationalAutoEncoderParamsSchema,
} from './vae';
