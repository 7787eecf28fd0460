import { OnnxSessionOptionsSchema } from '@anomalia/onnx';
import { SourceInputSchema } from '@anomalia/qa-workflow';
import { z } from 'zod';

/**
 * The training configuration. One zod schema is both the runtime validation (errors name the key
 * and the allowed values) and the TypeScript type. Model parameters are validated by the model's
 * own schema when the detector is created, so adding a model needs no change here beyond its type.
 */
export const TRAINABLE_MODEL_TYPES = [
  'ebm',
  'autoencoder',
  'vae',
  'isolation_forest',
  'lof',
  'ocsvm',
  'ngram',
] as const;
export type TrainableModelType = (typeof TRAINABLE_MODEL_TYPES)[number];
/** Every `model.type`: the trainable ones, and `onnx` (a model trained elsewhere, evaluated only). */
export const MODEL_TYPES = [...TRAINABLE_MODEL_TYPES, 'onnx'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];
/** The model types `export: { onnx: true }` can write as ONNX (the networks of @anomalia/neural). */
export const ONNX_EXPORTABLE_TYPES = ['ebm', 'autoencoder', 'vae'] as const satisfies readonly ModelType[];

const fraction = z.number().gt(0).lt(1);
const path = z.string().min(1);
const pathOrPaths = z.union([path, z.array(path).min(1)], { error: 'a path or a non-empty list of paths' });
/** A string matching `pattern`, described in words in errors (rather than as the pattern). */
const matching = (pattern: RegExp, description: string) =>
  z.string().refine((s) => pattern.test(s), description);

/** Fractions of a four-way split; each defaults to 60 / 15 / 10 / 15 %, and they must sum to 1. */
const splitFractions = {
  train: z.number().min(0).default(0.6),
  validation: z.number().min(0).default(0.15),
  calibration: z.number().min(0).default(0.1),
  test: z.number().gt(0).default(0.15),
};
type Fractions = { train: number; validation: number; calibration: number; test: number };
const sumsToOne = (s: Fractions) => Math.abs(s.train + s.validation + s.calibration + s.test - 1) < 1e-9;
const SUM_MESSAGE = { message: 'split fractions must sum to 1' };

/**
 * How a column's values are read as times: `timestamp` (ISO 8601, IMS "YYYY.MM.DD.hh.mm.ss",
 * "DD-MM-YYYY hh:mm"), `index` (an integer sample number: 0, 1, 2 …), or `auto`: an index when
 * every value is an integer, else a timestamp.
 */
export const TimeKindSchema = z.enum(['auto', 'timestamp', 'index']);
export type TimeKind = z.infer<typeof TimeKindSchema>;

/**
 * `by: random` (default): stratified, seeded. `by: time`: the most recent `test` fraction is the
 * test split (prospective: trained on older data, tested on newer), the older rows are split
 * stratified into train / validation / calibration.
 */
const SplitBy = z.enum(['random', 'time']).default('random');

const MosaiqSplitSchema = z
  .strictObject({ by: SplitBy, ...splitFractions })
  .refine(sumsToOne, SUM_MESSAGE)
  .prefault({});

const TabularSplitSchema = z
  .strictObject({
    by: SplitBy,
    /** With `by: time`: the column that orders the rows (default: the file order). */
    timeColumn: z.string().optional(),
    timeKind: TimeKindSchema.default('auto'),
    ...splitFractions,
  })
  .refine(sumsToOne, SUM_MESSAGE)
  .refine((s) => s.by === 'time' || s.timeColumn === undefined, {
    message: 'timeColumn orders a time split: set by: time as well',
    path: ['timeColumn'],
  })
  .prefault({});

const SequencesSplitSchema = z
  .strictObject({
    by: SplitBy.refine((by) => by === 'random', 'random (token sequences carry no time to split by)'),
    ...splitFractions,
  })
  .refine(sumsToOne, SUM_MESSAGE)
  .prefault({});

/** The four fractions of a split config, in the order the splitters take them. */
export const fractionsOf = (s: Fractions): Fractions => ({
  train: s.train,
  validation: s.validation,
  calibration: s.calibration,
  test: s.test,
});

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
  /** Plan the malicious modes too (critical_malicious stratum, seed 001's 5 %). */
  includeMalicious: z.boolean().default(true),
  /**
   * The longitudinal evaluation (report section "Longitudinal detection"): each malicious variant
   * applied to `applicationsPerVariant` courses of the cohort and replayed through the
   * longitudinal tracker; detection rate, delay in fractions and the false-alarm rate on clean
   * courses. Runs when malicious modes are included, unless `enabled` is false.
   */
  longitudinal: z
    .strictObject({
      enabled: z.boolean().default(true),
      applicationsPerVariant: z.number().int().min(1).max(1000).default(20),
      /** Clinical tolerance a course's cumulative effect is measured against. */
      tolerance: z
        .strictObject({
          dosePercent: z.number().positive().default(5),
          geometryMm: z.number().positive().default(3),
        })
        .default({ dosePercent: 5, geometryMm: 3 }),
    })
    .default({ enabled: true, applicationsPerVariant: 20, tolerance: { dosePercent: 5, geometryMm: 3 } }),
  /**
   * Feature set of @anomalia/features: `qa74` (the original 74 QA features) or `qa74-cohort` (the
   * 74 plus context features: duplicates, fraction-to-fraction changes, offset age, jaws), which
   * sees failure modes that no single record shows; or `qa74-longitudinal` (those plus each
   * record's course: changes since the course's first fraction, CUSUM and trend statistics,
   * offsets that went back in time, the machine's leaf count), which sees attacks spread over
   * fractions.
   */
  features: z.enum(['qa74', 'qa74-cohort', 'qa74-longitudinal']).default('qa74'),
  /**
   * Train and tune on severities moved this far inside their band (e.g. 1.0 → 1.1): an energy
   * aimed exactly at a band edge lands in the band below half the time. Calibration and test
   * keep the true severities.
   */
  bandMargin: z.number().min(0).max(0.15).default(0.1),
  /**
   * Leave out the examples a (mode, variant) got beyond its even share of its severity stratum
   * (slots of pairs that ran out of targets), so no variant dominates a band's mean energy.
   */
  balanceVariants: z.boolean().default(true),
  /** `by: time` orders examples by the source treatment's Create_DtTm (before any corruption). */
  split: MosaiqSplitSchema,
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
  split: TabularSplitSchema,
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
  split: SequencesSplitSchema,
});

const TimeseriesDatasetSchema = z.strictObject({
  kind: z.literal('timeseries'),
  /** CSV with a time column and one or more value columns (NAB style). */
  path: pathOrPaths,
  /** The column that orders the series: timestamps or an integer sample index (see timeKind). */
  timeColumn: z.string().default('timestamp'),
  timeKind: TimeKindSchema.default('auto'),
  valueColumns: z.array(z.string()).default(['value']),
  labelColumn: z.string().optional(),
  /** Text labels to 0 (normal) / 1 (anomalous), e.g. { Normal: 0, Anomaly: 1 }. */
  labelMap: z.record(z.string(), z.number()).optional(),
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
    /** The threshold an ONNX model carries (an Anomalia export's, or its artifact's), kept as it is. */
    z.strictObject({ strategy: z.literal('model') }),
  ],
  {
    error: 'a threshold strategy: "contamination", "target-fpr", "max-f1", "midpoint", "fixed" or "model"',
  },
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
  /**
   * Gate for unsupervised detectors (trained without labels): with labels on the test split,
   * ROC-AUC ≥ minRocAuc and, when set, average precision ≥ minAveragePrecision (AP depends on the
   * anomaly share, so it has no default); without labels, the alarm rate (share flagged) of
   * held-out normal data ≤ maxAlarmRate.
   */
  unsupervised: z
    .strictObject({
      minRocAuc: z.number().min(0).max(1).default(0.8),
      minAveragePrecision: z.number().min(0).max(1).optional(),
      maxAlarmRate: z.number().min(0).max(1).default(0.05),
    })
    .prefault({}),
  /**
   * Which gate applies: `auto` picks `severity` for a severity energy, `classifier` for a
   * supervised model and `unsupervised` otherwise.
   */
  gate: z.enum(['auto', 'severity', 'classifier', 'unsupervised']).default('auto'),
  /**
   * With `evaluation.folds`, the gate is also applied to a pessimistic bound over the folds:
   * `mean-sd` (mean − sds·sd for a metric where higher is better, mean + sds·sd for MAE, ECE,
   * alarm rate), `worst-fold`, `mean`, or `none` (folds reported, not gated).
   */
  crossValidation: z
    .strictObject({
      bound: z.enum(['mean-sd', 'worst-fold', 'mean', 'none']).default('mean-sd'),
      sds: z.number().min(0).default(1),
    })
    .prefault({}),
});

/** Evaluation beyond the one test split. */
export const EvaluationSchema = z.strictObject({
  /**
   * k-fold cross-validation (opt-in): k more models, each fitted, thresholded and calibrated on its
   * fold's own parts and tested on its fold; metrics as mean ± sd over folds.
   */
  folds: z.number().int().min(2).max(20).optional(),
});

const Sha256Schema = matching(/^[0-9a-f]{64}$/, 'a lowercase hex sha256 (64 characters)');

/** A model trained by this run: `params` go to the model's own schema. */
const TrainedModelSchema = z.strictObject({
  type: z.enum(TRAINABLE_MODEL_TYPES),
  params: z.record(z.string(), z.unknown()).default({}),
});

/**
 * A model trained elsewhere, in ONNX, evaluated without fitting: its threshold and calibration are
 * chosen on the validation / calibration parts like any model's, then it is reported and gated.
 */
const OnnxModelSchema = z.strictObject({
  type: z.literal('onnx'),
  /**
   * A `.onnx` file, an "onnx" artifact directory (manifest.json + model.onnx), or a run or
   * promoted model directory holding one (its `onnx/`, else its `model/`).
   */
  path,
  /**
   * The model's input columns, in order: a list, or a file with one name per line (a run's
   * features.txt). Required when the model carries none (a model made elsewhere); otherwise
   * checked against the model's. Either way they must equal the data set's features, in order.
   */
  featureNames: z
    .union([z.array(z.string().min(1)).min(1), path], {
      error: 'a list of feature names, or a file with one name per line',
    })
    .optional(),
  /** Refuse any other file (sha256 of the .onnx file, lowercase hex). */
  sha256: Sha256Schema.optional(),
  /** The graph output holding the score (default: the one named "score", else the only one). */
  scoreOutput: z.string().min(1).optional(),
  /**
   * Whether scores are severities on the 0–3 scale (an energy model): then a graded data set
   * (Mosaiq) gets the severity evaluation and gate. Default: true for an Anomalia energy-model
   * export, false otherwise.
   */
  scoresAreSeverities: z.boolean().optional(),
  /** Rows per onnxruntime run (default 65 536). */
  batchSize: z.number().int().positive().optional(),
  /** Refuse model files above this many bytes (default 256 MiB). */
  maxBytes: z.number().int().positive().optional(),
  /** onnxruntime session settings (threads, optimisation level); unset: its defaults. */
  session: OnnxSessionOptionsSchema.optional(),
  /** Refused with a reason (z.never's own message would only say "a never"). */
  params: z
    .custom<never>(() => false, {
      message:
        'no such key: an ONNX model is trained elsewhere and only evaluated here (its keys are path, featureNames, sha256, scoreOutput, scoresAreSeverities, batchSize, maxBytes, session)',
    })
    .optional(),
});

export const ModelSchema = z.discriminatedUnion('type', [TrainedModelSchema, OnnxModelSchema], {
  error: `a model type: ${MODEL_TYPES.map((t) => `"${t}"`).join(', ')}`,
});
export type OnnxModelConfig = z.output<typeof OnnxModelSchema>;

/** ONNX export settings; `onnx: true` takes the defaults. */
const OnnxExportSchema = z.strictObject({
  /** Graph input type: float64 (the scaler in double, as the model scores) or float32 (float-only runtimes). */
  inputType: z.enum(['float64', 'float32']).default('float64'),
  /**
   * Parity bound on the test split: |tfjs − onnx| ≤ tolerance · max(1, |score|) on every row
   * (1e-5: the bound @anomalia/onnx documents for its exports).
   */
  tolerance: z.number().positive().max(0.01).default(1e-5),
});
export type OnnxExportConfig = z.output<typeof OnnxExportSchema>;

/** Artifacts written beside the run's model. */
export const ExportSchema = z.strictObject({
  /**
   * Also write the trained network as ONNX (`onnx/` in the run directory, promoted with the model),
   * checked against the model's own scores on the test split.
   */
  onnx: z
    .union([z.boolean(), OnnxExportSchema], { error: 'true, false or { inputType, tolerance }' })
    .default(false)
    .transform((v): OnnxExportConfig | null =>
      v === false ? null : v === true ? { inputType: 'float64', tolerance: 1e-5 } : v,
    ),
});

const quoted = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');

/** Settings that only make sense together (checked after each key is valid on its own). */
function checkCombinations(c: z.output<typeof TrainConfigObjectSchema>, ctx: z.RefinementCtx): void {
  const type = c.model.type;
  if (c.export.onnx && !(ONNX_EXPORTABLE_TYPES as readonly string[]).includes(type)) {
    ctx.addIssue({
      code: 'custom',
      path: ['export', 'onnx'],
      message:
        type === 'onnx'
          ? 'false for model.type "onnx" (the model is already ONNX; the run saves it as model/)'
          : `false for model.type "${type}" (ONNX export covers ${quoted(ONNX_EXPORTABLE_TYPES)}: the networks)`,
    });
  }
  if (c.export.onnx && type === 'vae' && c.model.params?.score === 'kl') {
    ctx.addIssue({
      code: 'custom',
      path: ['model', 'params', 'score'],
      message: '"latent-distance" with export.onnx (the ONNX export scores the latent distance, not "kl")',
    });
  }
  if (type !== 'onnx' && c.calibration === 'model') {
    ctx.addIssue({
      code: 'custom',
      path: ['calibration'],
      message: `"platt" or "isotonic" for model.type "${type}" ("model" keeps the calibrator of an ONNX model)`,
    });
  }
  if (type !== 'onnx' && c.threshold?.strategy === 'model') {
    ctx.addIssue({
      code: 'custom',
      path: ['threshold', 'strategy'],
      message: `a strategy that chooses a threshold for model.type "${type}" ("model" keeps the threshold of an ONNX model)`,
    });
  }
}

const TrainConfigObjectSchema = z.strictObject({
  name: matching(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore or dash'),
  description: z.string().optional(),
  seed: z.number().int().default(42),
  dataset: DatasetSchema,
  model: ModelSchema,
  /** How the decision threshold is chosen; validation split by default (never the test split). */
  threshold: ThresholdConfigSchema.optional(),
  /** Fitted on the calibration split; `model` keeps an ONNX model's own calibrator. */
  calibration: z.enum(['platt', 'isotonic', 'model']).default('isotonic'),
  evaluation: EvaluationSchema.prefault({}),
  promotion: PromotionSchema.prefault({}),
  output: z.strictObject({ runsDir: path.default('runs') }).prefault({}),
  export: ExportSchema.prefault({}),
});

export const TrainConfigSchema = TrainConfigObjectSchema.superRefine(checkCombinations);

export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type DatasetConfig = TrainConfig['dataset'];
