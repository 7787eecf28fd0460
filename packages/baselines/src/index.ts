export {
  IsolationForest,
  type IsolationForestInput,
  type IsolationForestParams,
  IsolationForestParamsSchema,
} from './isolation-forest/isolation-forest';
export {
  LocalOutlierFactor,
  type LocalOutlierFactorInput,
  type LocalOutlierFactorParams,
  LocalOutlierFactorParamsSchema,
} from './lof/local-outlier-factor';
export type { NeighborAlgorithm, NeighborResult } from './lof/neighbor-index';
export {
  OneClassSVM,
  type OneClassSVMInput,
  type OneClassSVMParams,
  OneClassSVMParamsSchema,
} from './ocsvm/one-class-svm';
