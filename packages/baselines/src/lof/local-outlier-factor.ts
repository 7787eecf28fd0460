import {
  ArtifactError,
  assertTensorShapes,
  BaseMatrixDetector,
  ContaminationSchema,
  type LoadedArtifact,
  loadArtifact,
  Matrix,
  type ModelExport,
  NotFittedError,
  requireTensor,
  restoreFromArtifact,
  ScalerParamSchema,
  ValidationError,
} from '@anomalia/core';
import { z } from 'zod';
import { numpySum } from '../shared/numpy-sum';
import { requireRows } from '../shared/schemas';
import { tensor } from '../shared/tensor';
import { createMetric, type Metric } from './metric';
import {
  autoAlgorithm,
  createNeighborIndex,
  type NeighborAlgorithm,
  type NeighborIndex,
  type NeighborResult,
} from './neighbor-index';

export const LocalOutlierFactorParamsSchema = z.object({
  /** Neighbours per row (clamped to n − 1 at fit, with a note in the fit report). */
  nNeighbors: z.number().int().min(1).default(20),
  metric: z.enum(['euclidean', 'manhattan', 'minkowski']).default('euclidean'),
  /** Power of the Minkowski metric (used when metric is "minkowski"; p = 2 is euclidean). */
  p: z.number().min(1).default(2),
  /**
   * true: score new rows against the fitted rows (scikit-learn's novelty=True, PyOD's default).
   * false: outlier detection on the training set itself: read `trainingScores` after fit.
   */
  novelty: z.boolean().default(true),
  /** "auto" flags LOF > 1.5 (scikit-learn's offset); a fraction sets it on the training LOFs. */
  contamination: ContaminationSchema.default('auto'),
  /** Scaler fitted on the training rows and applied before every score (distances depend on it). */
  scaler: ScalerParamSchema.default('none'),
  /**
   * Neighbour search. "kd-tree": a port of scikit-learn's KDTree (same neighbours as
   * scikit-learn among equidistant rows). "brute": exact blocked search over all rows (blocks a
   * ball tree proves too far are skipped), equidistant rows taken in index order. "auto":
   * scikit-learn's rule, the KD-tree up to 15 columns and while nNeighbors < n/2, brute otherwise.
   */
  algorithm: z.enum(['auto', 'kd-tree', 'brute']).default('auto'),
  /** Rows per leaf of the KD-tree (scikit-learn's leaf_size; it shapes the tree, hence the choice among ties). */
  leafSize: z.number().int().min(1).max(4096).default(30),
});
export type LocalOutlierFactorParams = z.infer<typeof LocalOutlierFactorParamsSchema>;
export type LocalOutlierFactorInput = z.input<typeof LocalOutlierFactorParamsSchema>;

const KIND = 'local-outlier-factor';
/** scikit-learn adds 1e-10 to the mean reach distance so duplicates give a large, finite density. */
const LRD_EPSILON = 1e-10;

interface Fitted {
  index: NeighborIndex;
  X: Matrix;
  k: number;
  kDistance: Float64Array;
  lrd: Float64Array;
  trainingScores: Float64Array;
}

/**
 * Local Outlier Factor (Breunig et al. 2000) as in scikit-learn. score = LOF = mean over the k
 * neighbours of lrd(neighbour) / lrd(x), higher = more anomalous (scikit-learn's
 * `-score_samples` in novelty mode, `-negative_outlier_factor_` in outlier mode).
 */
export class LocalOutlierFactor extends BaseMatrixDetector<LocalOutlierFactorParams> {
  readonly kind = KIND;
  private fitted: Fitted | null = null;

  constructor(params: LocalOutlierFactorInput = {}) {
    super(LocalOutlierFactorParamsSchema, params);
  }

  static async load(dir: string): Promise<LocalOutlierFactor> {
    const artifact = await loadArtifact(dir, { kind: KIND });
    return restoreFromArtifact(artifact, (p) => new LocalOutlierFactor(p as LocalOutlierFactorInput));
  }

  /** The neighbour count actually used: min(nNeighbors, n − 1) (scikit-learn's `n_neighbors_`). */
  get nNeighborsUsed(): number {
    return this.requireFitted().k;
  }

  /**
   * LOF of each training row against the other training rows (each row's own distance excluded),
   * scikit-learn's `-negative_outlier_factor_`. The outlier-mode scores; in both modes the
   * contamination threshold is set on them.
   */
  get trainingScores(): Float64Array {
    return this.requireFitted().trainingScores;
  }

  /** Local reachability density of each training row. */
  get trainingDensities(): Float64Array {
    return this.requireFitted().lrd;
  }

  /** The k nearest training rows of each row of X (after the scaler), like scikit-learn's `kneighbors(X)`. */
  kNeighbors(X: Matrix, k?: number): NeighborResult {
    const f = this.requireFitted();
    const kk = k ?? f.k;
    if (!Number.isInteger(kk) || kk < 1 || kk > f.X.rows)
      throw new ValidationError('k', `an integer in [1, ${f.X.rows}]`, kk);
    return f.index.query(this.prepare(X), kk);
  }

  private metric(): Metric {
    return createMetric(this.params.metric, this.params.p);
  }

  private buildIndex(X: Matrix, algorithm: NeighborAlgorithm): NeighborIndex {
    return createNeighborIndex(X, { algorithm, metric: this.metric(), leafSize: this.params.leafSize });
  }

  /** The search algorithm for a training set (scikit-learn's rule for "auto"). */
  private algorithmFor(rows: number, cols: number): NeighborAlgorithm {
    const a = this.params.algorithm;
    return a === 'auto' ? autoAlgorithm(rows, cols, this.params.nNeighbors) : a;
  }

  /** The neighbour search used ("kd-tree" or "brute"). */
  get algorithmUsed(): NeighborAlgorithm {
    return this.requireFitted().index.algorithm;
  }

  protected fitModel(X: Matrix) {
    requireRows(X.rows, 2, 'to find neighbours of each row among the others');
    const notes: string[] = [];
    const k = Math.max(1, Math.min(this.params.nNeighbors, X.rows - 1));
    if (k !== this.params.nNeighbors) {
      notes.push(
        `nNeighbors (${this.params.nNeighbors}) is greater than the number of training rows minus one ` +
          `(${X.rows - 1}); using ${k} neighbours`,
      );
    }
    // Keep a private copy: the model must not change if the caller later mutates X.
    const Xfit = X.clone();
    const index = this.buildIndex(Xfit, this.algorithmFor(X.rows, X.cols));
    const own = index.selfNeighbors(k);
    const kDistance = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) kDistance[i] = own.distances[i * k + k - 1]!;
    const lrd = reachabilityDensities(own, kDistance);
    const trainingScores = outlierFactors(own, lrd, lrd);
    this.fitted = { index, X: Xfit, k, kDistance, lrd, trainingScores };
    // As scikit-learn's offset_, a contamination threshold comes from the training rows' own LOFs,
    // not from scoring the training rows as new points (each would be its own neighbour).
    return { report: { nNeighborsUsed: k, algorithm: index.algorithm, notes }, trainingScores };
  }

  /** scikit-learn's contamination="auto": offset −1.5 on score_samples, i.e. LOF > 1.5. */
  protected override nativeThreshold(): number {
    return 1.5;
  }

  protected scoreModel(X: Matrix): Float64Array {
    const f = this.requireFitted();
    if (!this.params.novelty) {
      throw new ValidationError(
        'params.novelty',
        'true to score new rows (in outlier mode, novelty: false, read trainingScores after fit)',
        false,
      );
    }
    const neighbors = f.index.query(X, f.k);
    return outlierFactors(neighbors, reachabilityDensities(neighbors, f.kDistance), f.lrd);
  }

  protected exportModel(): ModelExport {
    const f = this.requireFitted();
    return {
      // The metric is recorded with the rows, so params edited after saving are caught on load.
      state: { rows: f.X.rows, nNeighborsUsed: f.k, metric: this.params.metric, p: this.params.p },
      tensors: {
        X: tensor(f.X.data, [f.X.rows, f.X.cols]),
        kDistance: tensor(f.kDistance),
        lrd: tensor(f.lrd),
        trainingScores: tensor(f.trainingScores),
      },
    };
  }

  protected importModel(artifact: LoadedArtifact): void {
    const { rows, nNeighborsUsed, nFeatures } = artifact.state;
    const isCount = (v: unknown, min: number): v is number =>
      typeof v === 'number' && Number.isInteger(v) && v >= min;
    if (!isCount(rows, 2)) throw new ArtifactError('manifest.json', 'state.rows', 'expected an integer ≥ 2');
    if (!isCount(nNeighborsUsed, 1) || nNeighborsUsed > rows - 1) {
      throw new ArtifactError(
        'manifest.json',
        'state.nNeighborsUsed',
        `expected an integer in [1, ${rows - 1}]`,
      );
    }
    const implied = Math.min(this.params.nNeighbors, rows - 1);
    if (nNeighborsUsed !== implied) {
      throw new ArtifactError(
        'manifest.json',
        'state.nNeighborsUsed',
        `expected ${implied} (params.nNeighbors ${this.params.nNeighbors}, at most rows − 1), found ${nNeighborsUsed}: params and weights do not match`,
      );
    }
    for (const name of ['metric', 'p'] as const) {
      if (artifact.state[name] !== this.params[name]) {
        throw new ArtifactError(
          'manifest.json',
          `state.${name}`,
          `the densities were computed with ${name} ${JSON.stringify(artifact.state[name])}, but params.${name} is ${JSON.stringify(this.params[name])}: params and weights do not match`,
        );
      }
    }
    const cols = nFeatures as number;
    assertTensorShapes(artifact, {
      X: [rows, cols],
      kDistance: [rows],
      lrd: [rows],
      trainingScores: [rows],
    });
    const X = new Matrix(rows, cols, requireTensor(artifact, 'X', 'float64', rows * cols));
    const bad = X.findNonFinite();
    if (bad) throw new ArtifactError('weights.bin', 'tensors.X', `non-finite value at row ${bad.row}`);
    this.fitted = {
      index: this.buildIndex(X, this.algorithmFor(rows, cols)),
      X,
      k: nNeighborsUsed,
      kDistance: requireTensor(artifact, 'kDistance', 'float64', rows),
      lrd: requireTensor(artifact, 'lrd', 'float64', rows),
      trainingScores: requireTensor(artifact, 'trainingScores', 'float64', rows),
    };
  }

  private requireFitted(): Fitted {
    if (!this.fitted) throw new NotFittedError(KIND, 'call fit() first');
    return this.fitted;
  }
}

/** lrd(x) = 1 / (mean over x's neighbours o of max(d(x, o), k-distance(o)) + 1e-10). */
function reachabilityDensities(nb: NeighborResult, kDistance: Float64Array): Float64Array {
  const { k, distances, indices } = nb;
  const n = distances.length / k;
  const reach = new Float64Array(k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) reach[j] = Math.max(distances[i * k + j]!, kDistance[indices[i * k + j]!]!);
    out[i] = 1 / (numpySum(reach, 0, k) / k + LRD_EPSILON);
  }
  return out;
}

/** LOF(x) = mean over x's neighbours o of lrd(o) / lrd(x). */
function outlierFactors(
  nb: NeighborResult,
  lrdOfRows: Float64Array,
  trainingLrd: Float64Array,
): Float64Array {
  const { k, indices } = nb;
  const n = indices.length / k;
  const ratios = new Float64Array(k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const own = lrdOfRows[i]!;
    for (let j = 0; j < k; j++) ratios[j] = trainingLrd[indices[i * k + j]!]! / own;
    out[i] = numpySum(ratios, 0, k) / k;
  }
  return out;
}
