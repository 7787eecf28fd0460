import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset, Matrix } from '@anomalia/core';
import { AutoEncoder, EnergyModel, VariationalAutoEncoder } from '@anomalia/neural';
import type { OnnxDetector } from '../detector';
import { exportOnnx, loadOnnxDetector } from '../load';

export const MODELS = ['energy-model', 'autoencoder', 'variational-autoencoder'] as const;
export type ModelName = (typeof MODELS)[number];

export type NeuralModel = EnergyModel | AutoEncoder | VariationalAutoEncoder;

/**
 * A model of each kind: the AutoEncoder and the VAE with their defaults (the AutoEncoder's batch
 * norm included), the EnergyModel briefly trained (8 epochs: parity, not accuracy, is tested).
 */
export function createModel(kind: ModelName, seed = 1): NeuralModel {
  if (kind === 'energy-model') return new EnergyModel({ seed, epochs: 8, learningRate: 1e-3 });
  if (kind === 'autoencoder') return new AutoEncoder({ seed });
  return new VariationalAutoEncoder({ seed });
}

/**
 * The EnergyModel's decision, made as the train app makes it: `fit` sets none, so a max-F1
 * threshold and a Platt calibration are fitted on the rows the fit held out for early stopping
 * (`heldOutRows`, indices into X). The autoencoders keep their default (contamination)
 * threshold and have no calibrator.
 */
export async function decide(model: EnergyModel, X: Matrix, y: Float64Array): Promise<void> {
  const held = model.heldOutRows;
  if (!held) throw new Error('the energy model held out no validation rows');
  const validation = X.selectRows(held);
  const labels = model.anomalyLabels(Array.from(held, (i) => y[i]!));
  await model.fitThreshold({ strategy: 'max-f1' }, validation, { y: labels, split: 'validation' });
  await model.calibrate(validation, labels, 'platt');
}

export interface ParityResult {
  model: ModelName;
  rows: number;
  maxAbs: number;
  /** max |diff| / max(1, |score|): absolute below 1, relative above. */
  maxScaled: number;
  maxScore: number;
  tfjs: Float64Array;
  onnx: Float64Array;
  detector: OnnxDetector;
  source: NeuralModel;
  dir: string;
}

/**
 * Trains `kind` on (at most `trainRows` rows of) `data`, saves it, exports it to ONNX, loads the
 * export with onnxruntime and scores every row with both. The caller closes `detector` and
 * removes `dir`.
 */
export async function parity(
  kind: ModelName,
  data: Dataset & { y: Float64Array },
  trainRows = 2000,
): Promise<ParityResult> {
  const model = createModel(kind);
  const rows = Math.min(trainRows, data.X.rows);
  const idx = Int32Array.from({ length: rows }, (_, i) => Math.floor((i * data.X.rows) / rows));
  const X = data.X.selectRows(idx);
  const y = Float64Array.from(idx, (i) => data.y[i]!);
  await model.fit(X, { y: kind === 'energy-model' ? y : undefined, featureNames: data.featureNames });
  if (model instanceof EnergyModel) await decide(model, X, y);
  const dir = await mkdtemp(join(tmpdir(), 'anomalia-onnx-parity-'));
  await model.save(join(dir, 'model'));
  await exportOnnx(join(dir, 'model'), join(dir, 'onnx'));
  const detector = await loadOnnxDetector(join(dir, 'onnx'), { session: { intraOpNumThreads: 1 } });
  const tfjs = await model.score(data.X);
  const onnx = await detector.score(data.X);
  let maxAbs = 0;
  let maxScaled = 0;
  let maxScore = 0;
  for (let i = 0; i < tfjs.length; i++) {
    const diff = Math.abs(tfjs[i]! - onnx[i]!);
    maxAbs = Math.max(maxAbs, diff);
    maxScaled = Math.max(maxScaled, diff / Math.max(1, Math.abs(tfjs[i]!)));
    maxScore = Math.max(maxScore, Math.abs(tfjs[i]!));
  }
  return {
    model: kind,
    rows: tfjs.length,
    maxAbs,
    maxScaled,
    maxScore,
    tfjs,
    onnx,
    detector,
    source: model,
    dir,
  };
}

export async function cleanUp(r: ParityResult): Promise<void> {
  await r.detector.close();
  await rm(r.dir, { recursive: true, force: true });
}
