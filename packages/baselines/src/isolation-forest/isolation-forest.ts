import {
  ArtifactError,
  BaseMatrixDetector,
  ContaminationSchema,
  type LoadedArtifact,
  loadArtifact,
  Matrix,
  type ModelExport,
  NotFittedError,
  Rng,
  restoreFromArtifact,
  ScalerParamSchema,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import { CountOrFractionSchema, resolveCountOrFraction } from '../shared/schemas';
import {
  buildForest,
  type FlatForest,
  forestFromArtifact,
  forestTensors,
  pathLengthSums,
  type ScoringForest,
  scoringForest,
  type TreeSpec,
} from './forest';
import { averagePathLength } from './path-length';
import { buildSklearnForest } from './sklearn-trees';

export const IsolationForestParamsSchema = z.object({
  /** Number of trees. */
  nEstimators: z.number().int().min(1).default(100),
  /** Rows per tree: "auto" = min(256, n), a fraction of n in (0, 1], or a count (capped at n). */
  maxSamples: z.union([z.literal('auto'), CountOrFractionSchema]).default('auto'),
  /** Columns each tree may split on: a fraction of the columns in (0, 1] or a count. */
  maxFeatures: CountOrFractionSchema.default(1),
  /** Draw each tree's rows with replacement. */
  bootstrap: z.boolean().default(false),
  /** Threshold: "auto" flags scores above 0.5 (scikit-learn's offset), a fraction sets it on the training scores. */
  contamination: ContaminationSchema.default('auto'),
  /** Scaler fitted on the training rows and applied before every score (trees do not need one). */
  scaler: ScalerParamSchema.default('none'),
  seed: z.number().int().min(0).max(4294967295).default(0),
  /**
   * Grow exactly the trees of scikit-learn's IsolationForest(random_state=seed): numpy's
   * MT19937 streams and scikit-learn's sampling instead of Anomalia's generator, and float32
   * features as scikit-learn uses. For comparisons with scikit-learn; slower to fit.
   */
  sklearnCompatible: z.boolean().default(false),
  /**
   * With `sklearnCompatible`, how scikit-learn is seeded. "seed": random_state = seed, where every
   * draw point restarts RandomState(seed). "generator": random_state = RandomState(seed), one
   * stream through the whole fit; this is also random_state = None after np.random.seed(seed),
   * PyOD's default as ADBench runs it.
   */
  sklearnRandomState: z.enum(['seed', 'generator']).default('seed'),
});
export type IsolationForestParams = z.infer<typeof IsolationForestParamsSchema>;
export type IsolationForestInput = z.input<typeof IsolationForestParamsSchema>;

const KIND = 'isolation-forest';

/**
 * Isolation Forest (Liu, Ting & Zhou 2008) as in scikit-learn: random axis-parallel splits on
 * subsamples isolate anomalies in few steps. score(x) = 2^(−E[h(x)] / c(ψ)) in (0, 1], higher =
 * more anomalous (scikit-learn's `-score_samples`).
 */
export class IsolationForest extends BaseMatrixDetector<IsolationForestParams> {
  readonly kind = KIND;
  private forest: FlatForest | null = null;
  private scoring: ScoringForest | null = null;
  private psi = 0;

  constructor(params: IsolationForestInput = {}) {
    super(IsolationForestParamsSchema, params);
  }

  static async load(dir: string): Promise<IsolationForest> {
    const artifact = await loadArtifact(dir, { kind: KIND });
    return restoreFromArtifact(artifact, (p) => new IsolationForest(p as IsolationForestInput));
  }

  /** The subsample size ψ used per tree (scikit-learn's `max_samples_`). */
  get maxSamplesUsed(): number {
    return this.psi;
  }

  /** Number of nodes in the fitted forest. */
  get nodeCount(): number {
    return this.forest?.left.length ?? 0;
  }

  /** The average path length E[h(x)] over the trees, before normalisation. */
  pathLengths(X: Matrix): Float64Array {
    const Xs = this.prepare(X);
    const scoring = this.requireScoring();
    const sums = pathLengthSums(scoring, this.asTreeInput(Xs));
    for (let i = 0; i < sums.length; i++) sums[i]! /= scoring.roots.length;
    return sums;
  }

  protected fitModel(X: Matrix) {
    const { nEstimators, maxSamples, maxFeatures, bootstrap, seed } = this.params;
    const n = X.rows;
    const psi = maxSamples === 'auto' ? Math.min(256, n) : Math.min(n, resolveCountOrFraction(maxSamples, n));
    const nFeatures = resolveCountOrFraction(maxFeatures, X.cols);
    if (nFeatures > X.cols) {
      throw new ValidationError(
        'params.maxFeatures',
        `at most the number of columns (${X.cols})`,
        maxFeatures,
      );
    }
    const notes: string[] = [];
    if (typeof maxSamples === 'number' && maxSamples > 1 && maxSamples > n) {
      notes.push(`maxSamples (${maxSamples}) is greater than the number of rows (${n}); using ${n}`);
    }
    const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
    if (this.params.sklearnCompatible) {
      this.forest = buildSklearnForest(X, {
        nEstimators,
        maxSamples: psi,
        maxFeatures: nFeatures,
        bootstrap,
        seed,
        sharedStream: this.params.sklearnRandomState === 'generator',
        maxDepth,
      });
      this.scoring = scoringForest(this.forest);
      this.psi = psi;
      return { report: this.fitReport(nFeatures, maxDepth, notes) };
    }
    const rng = new Rng(seed);
    const specs = function* (): Generator<TreeSpec> {
      for (let t = 0; t < nEstimators; t++) {
        const treeRng = rng.fork();
        const features =
          nFeatures === X.cols
            ? Int32Array.from({ length: X.cols }, (_, j) => j)
            : treeRng.sampleIndices(X.cols, nFeatures).sort();
        let rows = treeRng.sampleIndices(n, psi, { replace: bootstrap });
        // scikit-learn passes bootstrap draws as sample weights: a row drawn twice is one row of the
        // tree (weight 2), so the tree is grown on the distinct rows and leaf sizes count them once.
        if (bootstrap) rows = Int32Array.from(new Set(rows));
        yield { rows, features, maxDepth, rng: treeRng };
      }
    };
    this.forest = buildForest(X, specs());
    this.scoring = scoringForest(this.forest);
    this.psi = psi;
    return { report: this.fitReport(nFeatures, maxDepth, notes) };
  }

  private fitReport(maxFeaturesUsed: number, maxDepth: number, notes: string[]) {
    return { maxSamplesUsed: this.psi, maxFeaturesUsed, maxDepth, nodes: this.nodeCount, notes };
  }

  /** scikit-learn's contamination="auto": offset −0.5 on score_samples, i.e. score > 0.5. */
  protected override nativeThreshold(): number {
    return 0.5;
  }

  /** scikit-learn compares float32 features with the thresholds: round like it in compatible mode. */
  private asTreeInput(X: Matrix): Matrix {
    return this.params.sklearnCompatible
      ? new Matrix(X.rows, X.cols, Float64Array.from(Float32Array.from(X.data)))
      : X;
  }

  protected scoreModel(X: Matrix): Float64Array {
    const scoring = this.requireScoring();
    const depths = pathLengthSums(scoring, this.asTreeInput(X));
    // As scikit-learn: 2^(−Σ_trees h / (trees · c(ψ))), the denominator taken as 1 when c(ψ) = 0.
    const denominator = scoring.roots.length * averagePathLength(this.psi) || 1;
    for (let i = 0; i < depths.length; i++) depths[i] = 2 ** (-depths[i]! / denominator);
    return depths;
  }

  protected exportModel(): ModelExport {
    const forest = this.requireForest();
    return {
      state: { maxSamplesUsed: this.psi, trees: forest.roots.length - 1 },
      tensors: forestTensors(forest),
    };
  }

  protected importModel(artifact: LoadedArtifact): void {
    const { maxSamplesUsed, trees, nFeatures } = artifact.state;
    if (typeof maxSamplesUsed !== 'number' || !Number.isInteger(maxSamplesUsed) || maxSamplesUsed < 1) {
      throw new ArtifactError('manifest.json', 'state.maxSamplesUsed', 'expected a positive integer');
    }
    if (trees !== this.params.nEstimators) {
      throw new ArtifactError(
        'manifest.json',
        'state.trees',
        `expected ${this.params.nEstimators} (params.nEstimators)`,
      );
    }
    const cap =
      this.params.maxSamples === 'auto' ? 256 : this.params.maxSamples > 1 ? this.params.maxSamples : null;
    if (cap !== null && maxSamplesUsed > cap) {
      throw new ArtifactError(
        'manifest.json',
        'state.maxSamplesUsed',
        `expected at most ${cap} (params.maxSamples ${JSON.stringify(this.params.maxSamples)}), found ${maxSamplesUsed}: params and weights do not match`,
      );
    }
    this.forest = forestFromArtifact(artifact, trees, nFeatures as number);
    this.scoring = scoringForest(this.forest);
    this.psi = maxSamplesUsed;
  }

  private requireForest(): FlatForest {
    if (!this.forest) throw new NotFittedError(KIND, 'call fit() first');
    return this.forest;
  }

  private requireScoring(): ScoringForest {
    if (!this.scoring) throw new NotFittedError(KIND, 'call fit() first');
    return this.scoring;
  }
}
