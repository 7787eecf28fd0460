import { type LoadedArtifact, readingArtifact } from './artifact';
import {
  BaseDetector,
  type Detector,
  type DetectorParams,
  type FitOptions,
  type InputExport,
  type PreparedFit,
} from './detector';
import { ArtifactError, NotFittedError, ValidationError } from './errors';
import { assertColumns, assertFinite, type Matrix } from './matrix';
import { createScaler, type Scaler, type ScalerParam, scalerFromJSON } from './scalers';

/** A Detector on feature matrices: it records its input columns and owns its scaler. */
export interface MatrixDetector extends Detector<Matrix> {
  /** Column names given to `fit`, or null. */
  readonly featureNames: readonly string[] | null;
  /** The scaler fitted with the model (its `scaler` parameter), applied before every score. */
  readonly scaler: Scaler | null;
}

/** Parameters a matrix detector's shared half reads. */
export interface MatrixDetectorParams extends DetectorParams {
  /** See `ScalerParamSchema`; absent = no scaler. */
  readonly scaler?: ScalerParam;
}

/**
 * The shared half of a matrix model: on top of `BaseDetector`, finite values and the column
 * count are checked on every call, and the scaler named by `params.scaler` is fitted on the
 * training rows, applied before every score and saved in the artifact (a loaded model scores
 * raw features). A model writes `fitModel`, `scoreModel` (on scaled rows), `exportModel`,
 * `importModel` and a `static load(dir)` returning `new Model(artifact.params).restore(artifact)`.
 */
export abstract class BaseMatrixDetector<P extends MatrixDetectorParams>
  extends BaseDetector<P, Matrix>
  implements MatrixDetector
{
  #nFeatures: number | null = null;
  #names: string[] | null = null;
  #scaler: Scaler | null = null;

  get featureNames(): readonly string[] | null {
    return this.#names;
  }
  get scaler(): Scaler | null {
    return this.#scaler;
  }
  /** Number of input columns the model was fitted with. */
  get inputDimension(): number {
    if (this.#nFeatures === null) throw new NotFittedError(this.kind, 'call fit() first');
    return this.#nFeatures;
  }

  protected checkInput(X: Matrix, field: string, purpose: 'fit' | 'score'): number {
    if (purpose === 'fit' && X.rows < 1)
      throw new ValidationError(`${field}.rows`, 'at least one row to fit', X.rows);
    if (purpose === 'score') assertColumns(X, this.inputDimension, field);
    assertFinite(X, field);
    return X.rows;
  }

  protected override prepareFit(X: Matrix, options: FitOptions<Matrix>): PreparedFit<Matrix> {
    super.prepareFit(X, options);
    const names = options.featureNames;
    if (names && names.length !== X.cols)
      throw new ValidationError('featureNames.length', `X.cols (${X.cols})`, names.length);
    if (options.validation) assertColumns(options.validation.X, X.cols, 'validation.X');
    const kind = this.params.scaler;
    const scaler = kind && kind !== 'none' ? createScaler(kind) : null;
    const Xs = scaler ? scaler.fitTransform(X) : X;
    const validation =
      scaler && options.validation
        ? { ...options.validation, X: scaler.transform(options.validation.X) }
        : options.validation;
    return {
      X: Xs,
      options: { ...options, validation },
      commit: () => {
        this.#nFeatures = X.cols;
        this.#names = names ? [...names] : null;
        this.#scaler = scaler;
      },
    };
  }

  /** Validates X against the fitted shape and applies the scaler. */
  protected override prepare(X: Matrix): Matrix {
    super.prepare(X);
    return this.#scaler ? this.#scaler.transform(X) : X;
  }

  protected override exportInput(): InputExport {
    return {
      featureNames: this.#names,
      scaler: this.#scaler?.toJSON() ?? null,
      state: { nFeatures: this.inputDimension },
    };
  }

  protected override restoreInput(artifact: LoadedArtifact): () => void {
    const n = artifact.state.nFeatures;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new ArtifactError('manifest.json', 'state.nFeatures', 'expected a positive integer');
    }
    const names = artifact.featureNames;
    if (names && names.length !== n) {
      throw new ArtifactError('manifest.json', 'featureNames', `expected ${n} names, found ${names.length}`);
    }
    const scaler = readingArtifact('manifest.json', () =>
      artifact.scaler ? scalerFromJSON(artifact.scaler) : null,
    );
    return () => {
      this.#nFeatures = n;
      this.#names = names ? [...names] : null;
      this.#scaler = scaler;
    };
  }
}
