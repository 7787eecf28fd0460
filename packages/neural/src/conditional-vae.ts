import {
  ArtifactError,
  assertColumns,
  assertFinite,
  BaseDetector,
  type FitOptions,
  type InputExport,
  type LoadedArtifact,
  loadArtifact,
  Matrix,
  type ModelExport,
  type ModelFit,
  NotFittedError,
  ValidationError,
} from '@anomalia/core';
import {
  type ConditionalVAEInput,
  type ConditionalVAEParams,
  ConditionalVAEParamsSchema,
  ConditionedVaeNetwork,
} from './conditional-vae-network';
import type { NeuralFitReport, Uncertainty } from './neural-detector';

/**
 * Rows to score with the condition each row was observed under: `X` the features (e.g.
 * flattened windows), `conditions` one row per row of X (one-hot categories such as campaign,
 * machine or operating regime, and / or numeric values such as a load).
 */
export interface ConditionalInput {
  X: Matrix;
  conditions: Matrix;
}

/**
 * A conditional β-VAE (seed 002's "ConditionalVAE"): encoder q(z | x, c) and decoder
 * p(x | z, c) both see the condition c, so what is normal under one condition is learnt as
 * normal for that condition only, and the same features can be normal under one condition and
 * anomalous under another. Training, the two anomaly scores (`score`: reconstruction + α·latent
 * distance, or + α·KL) and the default threshold (the `contamination` quantile of the training
 * scores) are those of the VariationalAutoEncoder. A `Detector<ConditionalInput>`: saved in the
 * core artifact format, its scaler covering the features then the conditions.
 */
export class ConditionalVAE extends BaseDetector<ConditionalVAEParams, ConditionalInput> {
  readonly kind = 'conditional-variational-autoencoder';
  private network: ConditionedVaeNetwork | null = null;
  private dims: { features: number; conditions: number } | null = null;

  constructor(params: ConditionalVAEInput = {}) {
    super(ConditionalVAEParamsSchema, params);
  }

  static async load(dir: string): Promise<ConditionalVAE> {
    const artifact = await loadArtifact(dir, { kind: 'conditional-variational-autoencoder' });
    return new ConditionalVAE(artifact.params as ConditionalVAEInput).restore(artifact);
  }

  protected override get inputName(): string {
    return 'input';
  }

  /** Number of feature columns the model was fitted with. */
  get inputDimension(): number {
    return this.fitted().dims.features;
  }

  /** Width of the condition vector the model was fitted with. */
  get conditionDimension(): number {
    return this.fitted().dims.conditions;
  }

  /** Feature names given to `fit` (without the conditions), or null. */
  get featureNames(): readonly string[] | null {
    const names = this.network?.featureNames;
    return names ? names.slice(0, this.dims!.features) : null;
  }

  /** The report of the last fit (history, backend, epochs). */
  get fitReport(): NeuralFitReport | null {
    return this.network?.fitReport ?? null;
  }

  protected checkInput(input: ConditionalInput, field: string, purpose: 'fit' | 'score'): number {
    if (
      typeof input !== 'object' ||
      input === null ||
      !(input.X instanceof Matrix) ||
      !(input.conditions instanceof Matrix)
    ) {
      throw new ValidationError(field, 'an object { X: Matrix, conditions: Matrix }', input);
    }
    const { X, conditions } = input;
    if (conditions.rows !== X.rows)
      throw new ValidationError(
        `${field}.conditions.rows`,
        `one condition row per row of X (${X.rows})`,
        conditions.rows,
      );
    if (purpose === 'fit') {
      if (X.rows < 1) throw new ValidationError(`${field}.X.rows`, 'at least one row to fit', X.rows);
      if (X.cols < 1) throw new ValidationError(`${field}.X.cols`, 'at least one feature', X.cols);
      if (conditions.cols < 1)
        throw new ValidationError(
          `${field}.conditions.cols`,
          'at least one condition column',
          conditions.cols,
        );
    } else {
      assertColumns(X, this.inputDimension, `${field}.X`);
      assertColumns(conditions, this.conditionDimension, `${field}.conditions`);
    }
    assertFinite(X, `${field}.X`);
    assertFinite(conditions, `${field}.conditions`);
    return X.rows;
  }

  protected async fitModel(
    input: ConditionalInput,
    options: FitOptions<ConditionalInput>,
  ): Promise<ModelFit> {
    const d = input.X.cols;
    const k = input.conditions.cols;
    const v = options.validation;
    if (v) {
      assertColumns(v.X.X, d, 'validation.input.X');
      assertColumns(v.X.conditions, k, 'validation.input.conditions');
    }
    const names = options.featureNames;
    if (names && names.length !== d)
      throw new ValidationError('featureNames.length', `input.X.cols (${d})`, names.length);
    const { contamination: _decidedHere, ...networkParams } = this.params;
    const network = new ConditionedVaeNetwork(networkParams, k);
    const report = await network.fit(joinConditions(input), {
      validation: v ? { X: joinConditions(v.X) } : undefined,
      featureNames: names ? [...names, ...Array.from({ length: k }, (_, j) => `condition[${j}]`)] : undefined,
      onProgress: options.onProgress,
    });
    this.network?.releaseDevice();
    this.network = network;
    this.dims = { features: d, conditions: k };
    const { seconds: _measuredByFit, ...rest } = report;
    return { report: rest };
  }

  protected scoreModel(input: ConditionalInput): Promise<Float64Array> {
    return this.fitted().network.score(joinConditions(input));
  }

  /** Squared reconstruction error per row and feature (the model's scaled space), given the condition. */
  async reconstructionErrors(input: ConditionalInput): Promise<Matrix> {
    this.prepare(input);
    return this.fitted().network.featureErrors(joinConditions(input));
  }

  /**
   * Gradient saliency of the score w.r.t. the features (not the conditions), in the model's
   * scaled space: mean |∂score/∂x_j| (× |x_j| with `timesInput`) and the per-row matrix.
   */
  async featureImportance(
    input: ConditionalInput,
    options: { timesInput?: boolean } = {},
  ): Promise<{ importance: Float64Array; perRow: Matrix; featureNames: readonly string[] | null }> {
    this.prepare(input);
    const { network, dims } = this.fitted();
    const all = await network.featureImportance(joinConditions(input), options);
    const features = Array.from({ length: dims.features }, (_, j) => j);
    return {
      importance: all.importance.slice(0, dims.features),
      perRow: all.perRow.selectColumns(features),
      featureNames: this.featureNames,
    };
  }

  /** Latent means μ(x, c), one row per input row ([rows, latent]). */
  async latentMeans(input: ConditionalInput): Promise<Matrix> {
    this.prepare(input);
    return this.fitted().network.latentMeans(joinConditions(input));
  }

  /** MC dropout over the score (see `NeuralDetector.predictWithUncertainty`). */
  async predictWithUncertainty(
    input: ConditionalInput,
    options: { passes?: number; seed?: number } = {},
  ): Promise<Uncertainty> {
    this.prepare(input);
    return this.fitted().network.predictWithUncertainty(joinConditions(input), options);
  }

  /** Frees the weights held on the TensorFlow.js backend. */
  releaseDevice(): void {
    this.network?.releaseDevice();
  }

  protected exportModel(): ModelExport {
    const { network, dims } = this.fitted();
    const model = network.artifactModel();
    return { ...model, state: { ...model.state, nConditions: dims.conditions } };
  }

  protected override exportInput(): InputExport {
    return this.fitted().network.artifactInput();
  }

  protected importModel(artifact: LoadedArtifact): void {
    const width = artifact.state.nFeatures;
    const k = artifact.state.nConditions;
    if (typeof width !== 'number' || !Number.isInteger(width))
      throw new ArtifactError('manifest.json', 'state.nFeatures', 'expected an integer');
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k >= width)
      throw new ArtifactError(
        'manifest.json',
        'state.nConditions',
        `expected an integer in [1, ${width - 1}] (state.nFeatures counts features and conditions)`,
      );
    const { contamination: _decidedHere, ...networkParams } = this.params;
    const network = new ConditionedVaeNetwork(networkParams, k);
    // The network reads the weights, scaler and columns; the decision (threshold, calibrator)
    // belongs to this detector and is restored by BaseDetector.
    network.restore({ ...artifact, kind: network.kind, threshold: null, calibrator: null });
    this.network?.releaseDevice();
    this.network = network;
    this.dims = { features: width - k, conditions: k };
  }

  private fitted(): { network: ConditionedVaeNetwork; dims: { features: number; conditions: number } } {
    if (!this.network || !this.dims) throw new NotFittedError(this.kind, 'call fit() first');
    return { network: this.network, dims: this.dims };
  }
}

/** Rows [x | c]: the features, then the condition vector (the network's input layout). */
export function joinConditions(input: ConditionalInput): Matrix {
  const { X, conditions: C } = input;
  const width = X.cols + C.cols;
  const out = new Matrix(X.rows, width);
  for (let i = 0; i < X.rows; i++) {
    out.data.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), i * width);
    out.data.set(C.data.subarray(i * C.cols, (i + 1) * C.cols), i * width + X.cols);
  }
  return out;
}

/**
 * One-hot condition vectors for categorical labels (campaign, machine, regime). `categories`
 * fixes the columns and their order (use the training categories when scoring); an unknown
 * label is a ValidationError naming its row, never a silent all-zero vector.
 */
export function oneHotConditions(
  labels: readonly string[],
  categories?: readonly string[],
): { conditions: Matrix; categories: string[] } {
  const cats = categories ? [...categories] : [...new Set(labels)].sort();
  if (cats.length === 0) throw new ValidationError('categories', 'at least one category', cats.length);
  if (new Set(cats).size !== cats.length)
    throw new ValidationError('categories', 'distinct category names', cats.join(', '));
  const index = new Map(cats.map((c, j) => [c, j]));
  const conditions = new Matrix(labels.length, cats.length);
  labels.forEach((label, i) => {
    const j = index.get(label);
    if (j === undefined) throw new ValidationError(`labels[${i}]`, `one of ${cats.join(', ')}`, label);
    conditions.data[i * cats.length + j] = 1;
  });
  return { conditions, categories: cats };
}
