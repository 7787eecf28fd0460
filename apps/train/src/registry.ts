import {
  IsolationForest,
  IsolationForestParamsSchema,
  LocalOutlierFactor,
  LocalOutlierFactorParamsSchema,
  OneClassSVM,
  OneClassSVMParamsSchema,
} from '@anomalia/baselines';
import type { Detector } from '@anomalia/core';
import {
  AutoEncoder,
  AutoEncoderParamsSchema,
  EnergyModel,
  EnergyModelParamsSchema,
  VariationalAutoEncoder,
  VariationalAutoEncoderParamsSchema,
} from '@anomalia/neural';
import type { z } from 'zod';
import type { ModelType } from './config/schema';

/** A model over feature matrices: any core Detector. */
export interface MatrixModel {
  input: 'matrix';
  /** Fits on graded targets (severity) or labels; unsupervised models ignore them. */
  supervised: boolean;
  /** What the score is called in reports. */
  scoreName: string;
  create(params: Record<string, unknown>, seed: number): Detector;
  load(dir: string): Promise<Detector>;
}

/** A model over token sequences (see the sequence pipeline). */
export interface SequenceModel {
  input: 'sequences';
  scoreName: string;
}

export type ModelEntry = MatrixModel | SequenceModel;

/** Adds the run's seed to a model's params when its schema has a seed and the config did not set one. */
function seeded(schema: z.ZodObject, params: Record<string, unknown>, seed: number): Record<string, unknown> {
  return 'seed' in schema.shape && params.seed === undefined ? { ...params, seed } : params;
}

function matrixModel<P extends Record<string, unknown>>(
  schema: z.ZodObject,
  ctor: new (params: P) => Detector,
  load: (dir: string) => Promise<Detector>,
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

/** `model.type` → how to build it. Adding a model is one entry. */
export const REGISTRY: Record<ModelType, ModelEntry> = {
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
  ngram: { input: 'sequences', scoreName: 'anomaly score' },
};
