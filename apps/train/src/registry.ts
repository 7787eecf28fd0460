import {
  IsolationForest,
  IsolationForestParamsSchema,
  LocalOutlierFactor,
  LocalOutlierFactorParamsSchema,
  OneClassSVM,
  OneClassSVMParamsSchema,
} from '@anomalia/baselines';
import {
  type Detector,
  loadArtifact,
  type MatrixDetector,
  restoreFromArtifact,
  ValidationError,
} from '@anomalia/core';
import {
  AutoEncoder,
  AutoEncoderParamsSchema,
  EnergyModel,
  EnergyModelParamsSchema,
  VariationalAutoEncoder,
  VariationalAutoEncoderParamsSchema,
} from '@anomalia/neural';
import {
  NGramClassifier,
  NGramClassifierParamsSchema,
  SequenceAnomalyDetector,
  type Sequences,
} from '@anomalia/sequence';
import type { z } from 'zod';
import type { TrainableModelType } from './config/schema';

/** A model over feature matrices: any core MatrixDetector. */
export interface MatrixModel {
  input: 'matrix';
  /** Fits on graded targets (severity) or labels; unsupervised models ignore them. */
  supervised: boolean;
  /** What the score is called in reports. */
  scoreName: string;
  /**
   * A new detector for `fit`; for a model trained elsewhere (`pretrained`), a fresh handle on it,
   * ready to score and never fitted.
   */
  create(params: Record<string, unknown>, seed: number): MatrixDetector | Promise<MatrixDetector>;
  load(dir: string): Promise<MatrixDetector>;
  /** Set for a model trained elsewhere (ONNX): the pipeline skips `fit`; `backend` runs its scores. */
  pretrained?: { backend: string };
}

/** A model over token sequences: a core Detector whose input is a batch of sequences. */
export interface SequenceModel {
  input: 'sequences';
  /** Whether a created detector fits on labels (decided by its parameters). */
  supervised(detector: Detector<Sequences>): boolean;
  /** What the score of a created detector is called in reports. */
  scoreName(detector: Detector<Sequences>): string;
  create(params: Record<string, unknown>, seed: number): Detector<Sequences>;
  load(dir: string): Promise<Detector<Sequences>>;
}

export type ModelEntry = MatrixModel | SequenceModel;

/** Adds the run's seed to a model's params when its schema has a seed and the config did not set one. */
function seeded(schema: z.ZodObject, params: Record<string, unknown>, seed: number): Record<string, unknown> {
  return 'seed' in schema.shape && params.seed === undefined ? { ...params, seed } : params;
}

function matrixModel<P extends Record<string, unknown>>(
  schema: z.ZodObject,
  ctor: new (params: P) => MatrixDetector,
  load: (dir: string) => Promise<MatrixDetector>,
  options: { supervised?: boolean; scoreName?: string } = {},
): MatrixModel {
  return {
    input: 'matrix',
    supervised: options.supervised ?? false,
    scoreName: options.scoreName ?? 'anomaly score',
    create: (params, seed) => new ctor(seeded(schema, params, seed) as P),
    load,
  };
}

export const NGRAM_MODES = ['classifier', 'language-model', 'stide'] as const;

/**
 * `ngram`: `params.mode` picks the model, "classifier" (NGramClassifier, supervised) or
 * "language-model" / "stide" (SequenceAnomalyDetector, trained on normal sequences only; the
 * default). The other params go to that model's schema.
 */
const ngram: SequenceModel = {
  input: 'sequences',
  supervised: (d) => d instanceof NGramClassifier,
  scoreName: (d) =>
    d instanceof NGramClassifier
      ? 'P(anomalous)'
      : d.params.mode === 'stide'
        ? 'mismatch rate'
        : 'mean surprisal (bits/token)',
  create(params, seed) {
    const { mode = 'language-model', ...rest } = params;
    if (mode === 'classifier') return new NGramClassifier(seeded(NGramClassifierParamsSchema, rest, seed));
    if (mode === 'language-model' || mode === 'stide') return new SequenceAnomalyDetector({ ...rest, mode });
    throw new ValidationError('params.mode', `one of ${NGRAM_MODES.map((m) => `"${m}"`).join(', ')}`, mode);
  },
  async load(dir) {
    const artifact = await loadArtifact(dir, { kind: ['ngram-classifier', 'sequence-detector'] });
    return artifact.kind === 'ngram-classifier'
      ? restoreFromArtifact(artifact, (p) => new NGramClassifier(p))
      : restoreFromArtifact(artifact, (p) => new SequenceAnomalyDetector(p));
  },
};

/**
 * `model.type` → how to build it. Adding a model is one entry. `onnx` (a model trained elsewhere)
 * is not built but opened from its file: see `openOnnxModel`.
 */
export const REGISTRY: Record<TrainableModelType, ModelEntry> = {
  ebm: matrixModel(EnergyModelParamsSchema, EnergyModel, (d) => EnergyModel.load(d), {
    supervised: true,
    scoreName: 'energy',
  }),
  autoencoder: matrixModel(AutoEncoderParamsSchema, AutoEncoder, (d) => AutoEncoder.load(d), {
    scoreName: 'reconstruction error',
  }),
  vae: matrixModel(VariationalAutoEncoderParamsSchema, VariationalAutoEncoder, (d) =>
    VariationalAutoEncoder.load(d),
  ),
  isolation_forest: matrixModel(IsolationForestParamsSchema, IsolationForest, (d) => IsolationForest.load(d)),
  lof: matrixModel(LocalOutlierFactorParamsSchema, LocalOutlierFactor, (d) => LocalOutlierFactor.load(d)),
  ocsvm: matrixModel(OneClassSVMParamsSchema, OneClassSVM, (d) => OneClassSVM.load(d)),
  ngram,
};
