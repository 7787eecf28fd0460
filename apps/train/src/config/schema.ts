import { SourceInputSchema } from '@anomalia/qa-workflow';
import { z } from 'zod';

/**
 * The training configuration. One zod schema is both the runtime validation (errors name the key
 * and the allowed values) and the TypeScript type. Model parameters are validated by the model's
 * own schema when the detector is created, so adding a model needs no change here beyond its type.
 */
export const MODEL_TYPES = [
  'ebm',
  'autoencoder',
  'vae',
  'isolation_forest',
  'lof',
  'ocsvm',
  'ngram',
] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

const fraction = z.number().gt(0).lt(1);
const path = z.string().min(1);
const pathOrPaths = z.union([path, z.array(path).min(1)], { error: 'a path or a non-empty list of paths' });
/** A string matching `pattern`, described in words in errors (rather than as the pattern). */
const matching = (pattern: RegExp, description: string) =>
  z.string().refine((s) => pattern.test(s), description);

const SplitSchema = z
  .strictObject({
    train: z.number().min(0),
    validation: z.number().min(0),
    calibration: z.number().min(0),
    test: z.number().gt(0),
  })
  .refine((s) => Math.abs(s.train + s.validation + s.calibration + s.test - 1) < 1e-9, {
    message: 'split fractions must sum to 1',
  });

const DEFAULT_SPLIT = { train: 0.6, validation: 0.15, calibration: 0.1, test: 0.15 };

const MosaiqDatasetSchema = z.strictObject({
  kind: z.literal('mosaiq'),
  /**
   * The source database, never written to: a path to an SQLite file, or a typed source such as
   * `{ type: sqlite, path }` (the source types of @anomalia/qa-workflow).
   */
  source: SourceInputSchema,
  /** When the source file is missing, create it with a synthetic clinic of this size. */
  synthesizeIfMissing: z
    .strictObject({ records: z.number().int().min(100).default(20_000), seed: z.number().int().default(7) })
    .optional(),
  /** Where the sandbox copy is made (default: next to the run). */
  sandbox: path.optional(),
  /**
   * Train on a source that is a sandbox with runs still applied (its "normal" records then include
   * corrupted ones): refused unless true.
   */
  allowUnrestoredRuns: z.boolean().default(false),
  /** Normal examples: completed, non-QA beams from the most recent N days of the source. */
  recentDays: z.number().int().positive().default(60),
  normal: z.number().int().positive().default(2000),
  /** Adversarial examples, spread over severity bands by the seed-001 plan. */
  adversarial: z.number().int().positive().default(2000),
  /** (mode, variant) pairs kept out of training, reported separately, e.g. "corrupt_mlc_data/negative_gap". */
  holdoutVariants: z.array(matching(/^[a-z_]+\/[a-z_]+$/, 'a "mode/variant" pair')).default([]),
  includeMalicious: z.boolean().default(false),
  /**
   * Feature set of @anomalia/features: `qa74` (the original 74 QA features) or `qa74-cohort` (the
   * 74 plus context features: duplicates, fraction-to-fraction changes, offset age, jaws), which
   * sees failure modes that no single record shows.
   */
  features: z.enum(['qa74', 'qa74-cohort']).default('qa74'),
  /**
   * Train and tune on severities moved this far inside their band (e.g. 1.0 → 1.1): an energy
   * aimed exactly at a band edge lands in the band below half the time. Calibration and test
   * keep the true severities.
   */
  bandMargin: z.number().min(0).max(0.15).default(0.1),
  split: SplitSchema.default(DEFAULT_SPLIT),
});

const TabularDatasetSchema = z.strictObject({
  kind: z.literal('tabular'),
  /** One CSV file, or several in time order (IMS style). */
  path: pathOrPaths,
  featureColumns: z.array(z.string()).optional(),
  dropColumns: z.array(z.string()).default([]),
  labelColumn: z.string().optional(),
  labelMap: z.record(z.string(), z.number()).optional(),
  /** Rows known to be normal, used for training: the first N rows, or rows before a time cut. */
  baseline: z
    .union(
      [
        z.strictObject({ firstRows: z.number().int().positive() }),
        z.strictObject({ fraction: fraction }),
        z.strictObject({ timeColumn: z.string(), before: z.string() }),
      ],
      { error: 'one of { firstRows }, { fraction } or { timeColumn, before }' },
    )
    .optional(),
  /** ADBench-style index splits (`{ splits: { "1": { train, test } } }`) and which key to use. */
  indexSplits: z.strictObject({ path, key: z.string().default('1') }).optional(),
  /** Moved: a model's scaler is its `scaler` parameter, fitted and saved with the model. */
  scaling: z
    .never({ error: 'no such key: set model.params.scaler (none, minmax, standard or robust) instead' })
    .optional(),
  split: SplitSchema.default(DEFAULT_SPLIT),
});

const SequencesDatasetSchema = z.strictObject({
  kind: z.literal('sequences'),
  /** One sequence per line, tokens separated by spaces. */
  train: path.optional(),
  normal: path.optional(),
  anomalous: path.optional(),
  /** Generate labelled synthetic sequences instead of reading files. */
  numSamples: z.number().int().positive().optional(),
  maxTrain: z.number().int().positive().optional(),
  split: SplitSchema.default(DEFAULT_SPLIT),
});

const TimeseriesDatasetSchema = z.strictObject({
  kind: z.literal('timeseries'),
  /** CSV with a time column and one or more value columns (NAB style). */
  path: pathOrPaths,
  timeColumn: z.string().default('timestamp'),
  valueColumns: z.array(z.string()).default(['value']),
  labelColumn: z.string().optional(),
  window: z
    .strictObject({ size: z.number().int().min(2).default(32), stride: z.number().int().min(1).default(1) })
    .prefault({}),
  /** Leading fraction of each series used for training (assumed normal). */
  trainFraction: fraction.default(0.15),
});

export const DatasetSchema = z.discriminatedUnion(
  'kind',
  [MosaiqDatasetSchema, TabularDatasetSchema, SequencesDatasetSchema, TimeseriesDatasetSchema],
  { error: 'a dataset kind: "mosaiq", "tabular", "sequences" or "timeseries"' },
);

export const ThresholdConfigSchema = z.discriminatedUnion(
  'strategy',
  [
    z.strictObject({ strategy: z.literal('contamination'), contamination: z.number().gt(0).max(0.5) }),
    z.strictObject({ strategy: z.literal('target-fpr'), fpr: z.number().min(0).lt(1) }),
    z.strictObject({ strategy: z.literal('max-f1') }),
    z.strictObject({ strategy: z.literal('midpoint') }),
    z.strictObject({ strategy: z.literal('fixed'), value: z.number() }),
  ],
  { error: 'a threshold strategy: "contamination", "target-fpr", "max-f1", "midpoint" or "fixed"' },
);

export const PromotionSchema = z.strictObject({
  /** Where current/ and candidates/ live. */
  modelsDir: path.default('models'),
  /**
   * Gate for models whose score is a severity, on the test split: MAE < maxMae (0.3), category
   * accuracy > minCategoryAccuracy (0.9), binary accuracy > minBinaryAccuracy (0.95), and every
   * band separation target met unless requireSeparations is false.
   */
  severity: z
    .strictObject({
      maxMae: z.number().positive().default(0.3),
      minCategoryAccuracy: z.number().min(0).max(1).default(0.9),
      minBinaryAccuracy: z.number().min(0).max(1).default(0.95),
      requireSeparations: z.boolean().default(true),
    })
    .prefault({}),
  /** Gate for classifiers (ECE with 10 bins on calibrated probabilities, accuracy at the threshold). */
  classifier: z
    .strictObject({
      maxEce: z.number().min(0).max(1).default(0.08),
      minAccuracy: z.number().min(0).max(1).default(0.85),
    })
    .prefault({}),
});

export const TrainConfigSchema = z.strictObject({
  name: matching(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore or dash'),
  description: z.string().optional(),
  seed: z.number().int().default(42),
  dataset: DatasetSchema,
  model: z.strictObject({
    type: z.enum(MODEL_TYPES),
    params: z.record(z.string(), z.unknown()).default({}),
  }),
  /** How the decision threshold is chosen; validation split by default (never the test split). */
  threshold: ThresholdConfigSchema.optional(),
  calibration: z.enum(['platt', 'isotonic']).default('isotonic'),
  promotion: PromotionSchema.prefault({}),
  output: z.strictObject({ runsDir: path.default('runs') }).prefault({}),
});

export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type DatasetConfig = TrainConfig['dataset'];
