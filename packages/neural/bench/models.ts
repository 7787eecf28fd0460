import { AutoEncoder, EnergyModel, type NeuralDetector, VariationalAutoEncoder } from '../src/index';

/**
 * The benchmark's models. `ebm`, `ae` and `vae` are the seed architectures and optimisers of
 * shared/reference/torch_throughput.py; `ae-default` and `vae-default` are the models' own
 * defaults (PyOD's: batch norm in the autoencoder), timed against bench/torch_defaults.py.
 */
export const BENCH_MODELS = ['ebm', 'ae', 'vae', 'ae-default', 'vae-default'] as const;
export type BenchModel = (typeof BENCH_MODELS)[number];

// biome-ignore lint/suspicious/noExplicitAny: any model's parameters
export function benchModel(name: string, batchSize: number, inputs: number): NeuralDetector<any> {
  switch (name) {
    case 'ebm':
      return new EnergyModel({ batchSize });
    case 'ae':
      // D → 64 → 32 → 16 → 8 → 16 → 32 → 64 → D, ReLU, dropout 0.2 in every hidden block; Adam, L2 1e-4.
      return new AutoEncoder({
        batchSize,
        hiddenLayers: [64, 32, 16, 8],
        normalization: 'none',
        weightDecay: 1e-4,
      });
    case 'vae':
      // D → [128, 64] → 8 → [64, 128] → D, dropout 0.2; Adam 1e-3; loss Σ_features (x − r)² + KL,
      // which is D · (mean squared error + KL / D): β = 1/D on this package's scale.
      return new VariationalAutoEncoder({
        batchSize,
        encoderLayers: [128, 64],
        latent: 8,
        decoderLayers: [64, 128],
        beta: 1 / inputs,
        weightDecay: 0,
      });
    case 'ae-default':
      return new AutoEncoder({ batchSize });
    case 'vae-default':
      return new VariationalAutoEncoder({ batchSize });
    default:
      throw new Error(`--model: expected one of ${BENCH_MODELS.join(', ')}, received "${name}"`);
  }
}
