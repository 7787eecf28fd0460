export { type AdamAttrs, adamStep } from './adam';
export { type BatchNormAttrs, batchNormBackward, batchNormForward } from './batch-norm';
export { simdAvailable, simdBlockKernels, useCopyKernels, useSimdKernels } from './define';
export { type BlockAttrs, blockBackward, blockForward } from './dense-block';
export { lossGradient } from './loss';
export { matMulInPlace } from './matmul';
export { pieces } from './pieces';
export { reparameterise, reparameteriseBackward } from './reparam';
