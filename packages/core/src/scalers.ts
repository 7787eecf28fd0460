import { z } from 'zod';
import { NotFittedError, ValidationError } from './errors';
import { Matrix } from './matrix';
import { quantile } from './stats';
import { parseWith } from './validation';

/**
 * What a scaler does with NaN:
 * - "error" (default): fit and transform reject NaN with an error naming the row and column.
 * - "impute": fit ignores NaN; transform replaces NaN by the column's fitted centre (mean for
 *   standard, median for robust, midpoint of the range for min-max) before scaling.
 * Infinite values are always an error. A column that is entirely NaN cannot be fitted.
 */
export type NanPolicy = 'error' | 'impute';

export const ScalerStateSchema = z.object({
  kind: z.enum(['minmax', 'standard', 'robust']),
  nanPolicy: z.enum(['error', 'impute']),
  /** x_scaled = (x − center) / scale (+ offset for min-max's feature range). */
  center: z.array(z.number()),
  scale: z.array(z.number()),
  offset: z.number(),
  /** Value used for NaN when nanPolicy is "impute" (in input units). */
  fill: z.array(z.number()),
  /** Columns whose spread was zero at fit time; their scale is 1, as in scikit-learn. */
  constantColumns: z.array(z.number().int()),
  clip: z.boolean().optional(),
  featureRange: z.tuple([z.number(), z.number()]).optional(),
});
export type ScalerState = z.infer<typeof ScalerStateSchema>;

/**
 * The `scaler` parameter of a matrix detector: the scaler it fits on its training rows, applies
 * before every score and saves in its artifact, or "none".
 */
export const ScalerParamSchema = z.enum(['none', 'minmax', 'standard', 'robust']);
export type ScalerParam = z.infer<typeof ScalerParamSchema>;

export interface Scaler {
  readonly kind: ScalerState['kind'];
  readonly isFitted: boolean;
  fit(X: Matrix): this;
  transform(X: Matrix): Matrix;
  fitTransform(X: Matrix): Matrix;
  inverseTransform(X: Matrix): Matrix;
  toJSON(): ScalerState;
}

abstract class ColumnScaler implements Scaler {
  abstract readonly kind: ScalerState['kind'];
  protected state: ScalerState | null = null;
  constructor(readonly nanPolicy: NanPolicy = 'error') {}

  get isFitted(): boolean {
    return this.state !== null;
  }

  /** Per-column statistics of the finite values: centre, spread and fill. */
  protected abstract columnStats(values: Float64Array): { center: number; spread: number; fill: number };
  protected offset(): number {
    return 0;
  }
  protected extra(): Partial<ScalerState> {
    return {};
  }

  fit(X: Matrix): this {
    if (X.rows === 0) throw new ValidationError('X.rows', 'at least one row to fit a scaler', 0);
    const center: number[] = [];
    const scale: number[] = [];
    const fill: number[] = [];
    const constantColumns: number[] = [];
    for (let j = 0; j < X.cols; j++) {
      const col = X.getColumn(j);
      const finite = this.finiteValues(col, j);
      if (finite.length === 0)
        throw new ValidationError(`X[:, ${j}]`, 'at least one non-NaN value to fit the scaler', 'all NaN');
      const s = this.columnStats(finite);
      const constant = !(s.spread > 0) || !Number.isFinite(s.spread);
      if (constant) constantColumns.push(j);
      center.push(s.center);
      scale.push(constant ? 1 : s.spread);
      fill.push(s.fill);
    }
    this.state = {
      kind: this.kind,
      nanPolicy: this.nanPolicy,
      center,
      scale,
      fill,
      offset: this.offset(),
      constantColumns,
      ...this.extra(),
    };
    return this;
  }

  private finiteValues(col: Float64Array, j: number): Float64Array {
    let nan = 0;
    for (let i = 0; i < col.length; i++) {
      const v = col[i]!;
      if (Number.isNaN(v)) {
        if (this.nanPolicy === 'error')
          throw new ValidationError(
            `X[${i}][${j}]`,
            'a number (or construct the scaler with nanPolicy "impute")',
            v,
          );
        nan++;
      } else if (!Number.isFinite(v)) throw new ValidationError(`X[${i}][${j}]`, 'a finite number', v);
    }
    return nan ? col.filter((v) => !Number.isNaN(v)) : col;
  }

  private fitted(): ScalerState {
    if (!this.state) throw new NotFittedError(`${this.kind} scaler`, 'call fit() before transform()');
    return this.state;
  }

  transform(X: Matrix): Matrix {
    const s = this.fitted();
    if (X.cols !== s.center.length)
      throw new ValidationError('X.cols', `${s.center.length} columns (as fitted)`, X.cols);
    const out = new Matrix(X.rows, X.cols);
    const [lo, hi] = s.featureRange ?? [0, 1];
    for (let i = 0, k = 0; i < X.rows; i++) {
      for (let j = 0; j < X.cols; j++, k++) {
        let v = X.data[k]!;
        if (Number.isNaN(v)) {
          if (s.nanPolicy === 'error')
            throw new ValidationError(`X[${i}][${j}]`, 'a number (or use nanPolicy "impute")', v);
          v = s.fill[j]!;
        } else if (!Number.isFinite(v)) throw new ValidationError(`X[${i}][${j}]`, 'a finite number', v);
        let t = (v - s.center[j]!) / s.scale[j]! + s.offset;
        if (s.clip) t = Math.min(hi, Math.max(lo, t));
        out.data[k] = t;
      }
    }
    return out;
  }

  fitTransform(X: Matrix): Matrix {
    return this.fit(X).transform(X);
  }

  inverseTransform(X: Matrix): Matrix {
    const s = this.fitted();
    if (X.cols !== s.center.length)
      throw new ValidationError('X.cols', `${s.center.length} columns (as fitted)`, X.cols);
    const out = new Matrix(X.rows, X.cols);
    for (let k = 0; k < X.data.length; k++) {
      const j = k % X.cols;
      out.data[k] = (X.data[k]! - s.offset) * s.scale[j]! + s.center[j]!;
    }
    return out;
  }

  toJSON(): ScalerState {
    return structuredClone(this.fitted());
  }

  /** @internal */
  load(state: ScalerState): this {
    this.state = state;
    return this;
  }
}

/** Scales each column to a feature range (default [0, 1]) from its min and max, like scikit-learn's MinMaxScaler. */
export class MinMaxScaler extends ColumnScaler {
  readonly kind = 'minmax' as const;
  constructor(options: { nanPolicy?: NanPolicy; featureRange?: [number, number]; clip?: boolean } = {}) {
    super(options.nanPolicy);
    this.range = options.featureRange ?? [0, 1];
    this.clip = options.clip ?? false;
    if (!(this.range[0] < this.range[1]))
      throw new ValidationError('featureRange', 'a range [min, max] with min < max', this.range);
  }
  private readonly range: [number, number];
  private readonly clip: boolean;
  protected columnStats(v: Float64Array) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const x of v) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const width = this.range[1] - this.range[0];
    // scale maps [lo, hi] onto a range of `width`; center is lo, offset is the range start.
    return { center: lo, spread: (hi - lo) / width, fill: (lo + hi) / 2 };
  }
  protected override offset() {
    return this.range[0];
  }
  protected override extra() {
    return { clip: this.clip, featureRange: this.range };
  }
}

/** Zero mean, unit (population) variance per column, like scikit-learn's StandardScaler. */
export class StandardScaler extends ColumnScaler {
  readonly kind = 'standard' as const;
  constructor(options: { nanPolicy?: NanPolicy } = {}) {
    super(options.nanPolicy);
  }
  protected columnStats(v: Float64Array) {
    let m = 0;
    for (const x of v) m += x;
    m /= v.length;
    let s = 0;
    for (const x of v) s += (x - m) ** 2;
    return { center: m, spread: Math.sqrt(s / v.length), fill: m };
  }
}

/** Median and inter-quartile range (25–75 %), like scikit-learn's RobustScaler. */
export class RobustScaler extends ColumnScaler {
  readonly kind = 'robust' as const;
  constructor(options: { nanPolicy?: NanPolicy } = {}) {
    super(options.nanPolicy);
  }
  protected columnStats(v: Float64Array) {
    const s = Float64Array.from(v).sort();
    const med = quantile(s, 0.5, true);
    return { center: med, spread: quantile(s, 0.75, true) - quantile(s, 0.25, true), fill: med };
  }
}

/** Rebuilds a fitted scaler from `toJSON()` output, validating it. */
export function scalerFromJSON(json: unknown): Scaler {
  const s = parseWith(ScalerStateSchema, json, 'scaler');
  if (s.scale.length !== s.center.length || s.fill.length !== s.center.length) {
    throw new ValidationError(
      'scaler.scale',
      `arrays as long as scaler.center (${s.center.length})`,
      s.scale.length,
    );
  }
  if (s.scale.some((v) => !(v > 0))) throw new ValidationError('scaler.scale', 'positive scales', s.scale);
  const scaler =
    s.kind === 'minmax'
      ? new MinMaxScaler({ nanPolicy: s.nanPolicy, featureRange: s.featureRange, clip: s.clip })
      : s.kind === 'standard'
        ? new StandardScaler({ nanPolicy: s.nanPolicy })
        : new RobustScaler({ nanPolicy: s.nanPolicy });
  return scaler.load(s);
}

export function createScaler(kind: ScalerState['kind'], options: { nanPolicy?: NanPolicy } = {}): Scaler {
  switch (kind) {
    case 'minmax':
      return new MinMaxScaler(options);
    case 'standard':
      return new StandardScaler(options);
    case 'robust':
      return new RobustScaler(options);
    default:
      throw new ValidationError('scaler', '"minmax", "standard" or "robust"', kind);
  }
}
