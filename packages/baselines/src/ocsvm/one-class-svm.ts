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
} from '@anomalia/core';
import { z } from 'zod';
import { tensor } from '../shared/tensor';
import { decisionFunction } from './decision-function';
import { type KernelSpec, resolveGamma } from './kernel';
import { KernelMatrix } from './kernel-matrix';
import { solveOneClass } from './one-class-solver';

export const OneClassSVMParamsSchema = z.object({
  kernel: z.enum(['rbf', 'linear', 'poly', 'sigmoid']).default('rbf'),
  /** Kernel coefficient for rbf, poly and sigmoid: "scale" = 1 / (d · Var(X)), "auto" = 1 / d, or a number > 0. */
  gamma: z.union([z.literal('scale'), z.literal('auto'), z.number().positive()]).default('scale'),
  /** Degree of the polynomial kernel. */
  degree: z.number().int().min(0).default(3),
  /** Independent term of the poly and sigmoid kernels. */
  coef0: z.number().default(0),
  /** Upper bound on the fraction of training errors and lower bound on the fraction of support vectors. */
  nu: z.number().gt(0).max(1).default(0.5),
  /** Stopping tolerance of the solver. */
  tol: z.number().positive().default(1e-3),
  /** Shrinking heuristic of the solver. */
  shrinking: z.boolean().default(true),
  /** Kernel cache size in megabytes. */
  cacheSizeMb: z.number().positive().default(200),
  /** Iteration cap (default: none, as scikit-learn's max_iter = −1; libsvm's own safety cap applies). */
  maxIter: z.number().int().positive().optional(),
  /** "auto": the SVM's own boundary (decision_function < 0, i.e. score > 0); a fraction sets it on the training scores. */
  contamination: ContaminationSchema.default('auto'),
  /** Scaler fitted on the training rows and applied before every score (kernels depend on it). */
  scaler: ScalerParamSchema.default('none'),
});
export type OneClassSVMParams = z.infer<typeof OneClassSVMParamsSchema>;
export type OneClassSVMInput = z.input<typeof OneClassSVMParamsSchema>;

const KIND = 'one-class-svm';

interface Fitted {
  spec: KernelSpec;
  supportVectors: Matrix;
  supportIndices: Int32Array;
  dualCoef: Float64Array;
  rho: number;
}

/**
 * One-class SVM (Schölkopf et al. 2001) trained with a faithful port of libsvm's solver, as in
 * scikit-learn. decisionFunction(x) = Σ α_i K(sv_i, x) − ρ (positive inside the learned
 * support); score = −decisionFunction, higher = more anomalous.
 */
export class OneClassSVM extends BaseMatrixDetector<OneClassSVMParams> {
  readonly kind = KIND;
  private fitted: Fitted | null = null;

  constructor(params: OneClassSVMInput = {}) {
    super(OneClassSVMParamsSchema, params);
  }

  static async load(dir: string): Promise<OneClassSVM> {
    const artifact = await loadArtifact(dir, { kind: KIND });
    return restoreFromArtifact(artifact, (p) => new OneClassSVM(p as OneClassSVMInput));
  }

  /** The support vectors (training rows with α > 0, after the scaler), in training order. */
  get supportVectors(): Matrix {
    return this.requireFitted().supportVectors;
  }
  /** Indices of the support vectors among the training rows (scikit-learn's `support_`). */
  get supportIndices(): Int32Array {
    return this.requireFitted().supportIndices;
  }
  /** α of each support vector (scikit-learn's `dual_coef_`). */
  get dualCoef(): Float64Array {
    return this.requireFitted().dualCoef;
  }
  /** ρ; scikit-learn's `intercept_` is −ρ. */
  get rho(): number {
    return this.requireFitted().rho;
  }
  /** The gamma actually used (resolved from "scale" or "auto"). */
  get gamma(): number {
    return this.requireFitted().spec.gamma;
  }

  /** Σ α_i K(sv_i, x) − ρ for each row (scaled like training); negative outside the support. */
  async decisionFunction(X: Matrix): Promise<Float64Array> {
    const Xs = this.prepare(X);
    const f = this.requireFitted();
    return decisionFunction(Xs, f.supportVectors, f.dualCoef, f.rho, f.spec);
  }

  protected fitModel(X: Matrix) {
    const p = this.params;
    const spec: KernelSpec = {
      kernel: p.kernel,
      gamma: resolveGamma(p.gamma, X),
      degree: p.degree,
      coef0: p.coef0,
    };
    const l = X.rows;
    const kernel = new KernelMatrix(X, spec);
    const solution = solveOneClass(kernel, {
      nu: p.nu,
      tol: p.tol,
      shrinking: p.shrinking,
      cacheBytes: p.cacheSizeMb * 1024 * 1024,
      // libsvm's own cap when none is given (scikit-learn passes max_iter = −1, i.e. none).
      maxIter: p.maxIter ?? Math.max(10_000_000, l > 21474836 ? 2147483647 : 100 * l),
    });
    kernel.release();
    const support: number[] = [];
    for (let i = 0; i < l; i++) if (solution.alpha[i]! > 0) support.push(i);
    const supportIndices = Int32Array.from(support);
    this.fitted = {
      spec,
      supportVectors: X.selectRows(supportIndices),
      supportIndices,
      dualCoef: Float64Array.from(support, (i) => solution.alpha[i]!),
      rho: solution.rho,
    };
    const notes = solution.converged
      ? []
      : [
          `the solver stopped at maxIter (${solution.iterations} iterations) before reaching tol; consider a larger maxIter`,
        ];
    return {
      report: {
        iterations: solution.iterations,
        converged: solution.converged,
        objective: solution.objective,
        rho: solution.rho,
        gamma: spec.gamma,
        supportVectors: support.length,
        notes,
      },
    };
  }

  /** libsvm's own boundary: decision_function < 0 is an outlier, i.e. score > 0. */
  protected override nativeThreshold(): number {
    return 0;
  }

  protected scoreModel(X: Matrix): Float64Array {
    const f = this.requireFitted();
    const dec = decisionFunction(X, f.supportVectors, f.dualCoef, f.rho, f.spec);
    for (let i = 0; i < dec.length; i++) dec[i] = -dec[i]!;
    return dec;
  }

  protected exportModel(): ModelExport {
    const f = this.requireFitted();
    return {
      // The kernel is recorded with the weights, so params edited after saving are caught on load.
      state: {
        kernel: f.spec.kernel,
        gamma: f.spec.gamma,
        degree: f.spec.degree,
        coef0: f.spec.coef0,
        rho: f.rho,
        supportVectors: f.supportVectors.rows,
      },
      tensors: {
        supportVectors: tensor(f.supportVectors.data, [f.supportVectors.rows, f.supportVectors.cols]),
        supportIndices: tensor(f.supportIndices),
        dualCoef: tensor(f.dualCoef),
      },
    };
  }

  protected importModel(artifact: LoadedArtifact): void {
    const { gamma, rho, supportVectors, nFeatures } = artifact.state;
    const bad = (field: string, expected: string) =>
      new ArtifactError('manifest.json', `state.${field}`, expected);
    if (typeof gamma !== 'number' || !(gamma > 0)) throw bad('gamma', 'expected a positive number');
    if (typeof rho !== 'number') throw bad('rho', 'expected a number');
    if (typeof supportVectors !== 'number' || !Number.isInteger(supportVectors) || supportVectors < 0) {
      throw bad('supportVectors', 'expected a non-negative integer');
    }
    const p = this.params;
    // The kernel the support vectors were fitted with must be the one the params describe.
    const saved = artifact.state;
    for (const [name, implied] of [
      ['kernel', p.kernel],
      ['degree', p.degree],
      ['coef0', p.coef0],
      ...(typeof p.gamma === 'number' ? [['gamma', p.gamma] as const] : []),
    ] as const) {
      if (saved[name] !== implied) {
        throw bad(
          name,
          `the support vectors were fitted with ${name} ${JSON.stringify(saved[name])}, but params.${name} is ${JSON.stringify(implied)}: params and weights do not match`,
        );
      }
    }
    const d = nFeatures as number;
    assertTensorShapes(artifact, {
      supportVectors: [supportVectors, d],
      supportIndices: [supportVectors],
      dualCoef: [supportVectors],
    });
    const sv = new Matrix(
      supportVectors,
      d,
      requireTensor(artifact, 'supportVectors', 'float64', supportVectors * d),
    );
    this.fitted = {
      spec: { kernel: p.kernel, gamma, degree: p.degree, coef0: p.coef0 },
      supportVectors: sv,
      supportIndices: requireTensor(artifact, 'supportIndices', 'int32', supportVectors),
      dualCoef: requireTensor(artifact, 'dualCoef', 'float64', supportVectors),
      rho,
    };
  }

  private requireFitted(): Fitted {
    if (!this.fitted) throw new NotFittedError(KIND, 'call fit() first');
    return this.fitted;
  }
}
