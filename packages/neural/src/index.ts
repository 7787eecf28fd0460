export { selectMostUncertain } from './active-learning';
export {
  AutoEncoder,
  type AutoEncoderInput,
  type AutoEncoderParams,
  AutoEncoderParamsSchema,
} from './autoencoder';
export {
  type AttributionMethod,
  AttributionMethodSchema,
  attributeChannels,
  type ChannelAttribution,
  type ChannelAttributionModel,
  type ChannelScore,
  rankChannels,
} from './channel-attribution';
export {
  type ConditionalInput,
  ConditionalVAE,
  joinConditions,
  oneHotConditions,
} from './conditional-vae';
export {
  type ConditionalVAEInput,
  type ConditionalVAEParams,
  ConditionalVAEParamsSchema,
} from './conditional-vae-network';
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
export { type LatentScore, LatentScoreSchema } from './latent-score';
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
  analyseSeries,
  type SeriesAnalysis,
  type SeriesAnalysisOptions,
  SeriesAnalysisOptionsSchema,
  type SeriesReport,
  type SeriesToAnalyse,
  type WindowModel,
  type WindowReport,
} from './series-analysis';
export {
  VariationalAutoEncoder,
  type VariationalAutoEncoderInput,
  type VariationalAutoEncoderParams,
  VariationalAutoEncoderParamsSchema,
} from './vae';
export {
  channelOfFeature,
  featureIndex,
  parseWindowLayout,
  seriesWindows,
  sumOverTime,
  type WindowLayout,
  type WindowLayoutInput,
  WindowLayoutSchema,
} from './windows';
