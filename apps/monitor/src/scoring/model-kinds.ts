import { IsolationForest, LocalOutlierFactor, OneClassSVM } from '@anomalia/baselines';
import { AutoEncoder, EnergyModel, VariationalAutoEncoder } from '@anomalia/neural';
import type { ModelKind } from '@anomalia/qa-workflow';

/**
 * The model kinds the monitor loads, by the `kind` of their manifest. Only the energy model's
 * scores are severities (its energy ≈ the 0–3 scale), also when exported to ONNX; the others are
 * anomaly detectors whose threshold says anomalous or not (the scorer maps that to a band, see
 * `ModelScorer`). ONNX models run on onnxruntime (@anomalia/onnx), imported only when one is
 * loaded.
 */
export const MODEL_KINDS: Readonly<Record<string, ModelKind>> = Object.freeze({
  'energy-model': { load: (dir) => EnergyModel.load(dir), scoresAreSeverities: true },
  autoencoder: { load: (dir) => AutoEncoder.load(dir) },
  'variational-autoencoder': { load: (dir) => VariationalAutoEncoder.load(dir) },
  'isolation-forest': { load: (dir) => IsolationForest.load(dir) },
  'local-outlier-factor': { load: (dir) => LocalOutlierFactor.load(dir) },
  'one-class-svm': { load: (dir) => OneClassSVM.load(dir) },
  onnx: {
    load: async (dir) => (await import('@anomalia/onnx')).loadOnnxDetector(dir),
    scoresAreSeverities: (d) =>
      (d as { metadata?: { kind?: string } | null }).metadata?.kind === 'energy-model',
  },
});
