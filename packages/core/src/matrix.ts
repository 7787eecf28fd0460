import { ValidationError } from './errors';

/**
 * A dense row-major matrix of float64. The single numeric currency between packages: feature
 * extractors produce it, detectors consume it, neural converts it to float32 tensors at its edge.
 */
export class Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;

  constructor(rows: number, cols: number, data?: Float64Array) {
    if (!Number.isInteger(rows) || rows < 0)
      throw new ValidationError('rows', 'a non-negative integer', rows);
    if (!Number.isInteger(cols) || cols < 0)
      throw new ValidationError('cols', 'a non-negative integer', cols);
    if (data && data.length !== rows * cols) {
      throw new ValidationError('data.length', `rows × cols = ${rows * cols}`, data.length);
    }
    this.rows = rows;
    this.cols = cols;
    this.data = data ?? new Float64Array(rows * cols);
  }

  static zeros(rows: number, cols: number): Matrix {
    return new Matrix(rows, cols);
  }

  /** Builds a matrix from equal-length rows; a ragged row is an error naming its index. */
  static fromRows(rows: ReadonlyArray<ArrayLike<number>>, cols?: number): Matrix {
    const c = cols ?? rows[0]?.length ?? 0;
    const m = new Matrix(rows.length, c);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.length !== c) throw new ValidationError(`rows[${i}].length`, String(c), r.length);
      for (let j = 0; j < c; j++) m.data[i * c + j] = r[j]!;
    }
    return m;
  }

  /** A single-column matrix from a vector (e.g. a time series channel). */
  static column(values: ArrayLike<number>): Matrix {
    return new Matrix(values.length, 1, Float64Array.from(values));
  }

  get(i: number, j: number): number {
    return this.data[i * this.cols + j]!;
  }

  set(i: number, j: number, value: number): void {
    this.data[i * this.cols + j] = value;
  }

  /** A view (no copy) of row i. */
  row(i: number): Float64Array {
    return this.data.subarray(i * this.cols, (i + 1) * this.cols);
  }

  /** A copy of column j. */
  getColumn(j: number): Float64Array {
    const out = new Float64Array(this.rows);
    for (let i = 0, k = j; i < this.rows; i++, k += this.cols) out[i] = this.data[k]!;
    return out;
  }

  selectRows(indices: ArrayLike<number>): Matrix {
    const out = new Matrix(indices.length, this.cols);
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i]!;
      if (!(r >= 0 && r < this.rows))
        throw new ValidationError(`indices[${i}]`, `a row index in [0, ${this.rows})`, r);
      out.data.set(this.row(r), i * this.cols);
    }
    return out;
  }

  selectColumns(indices: ArrayLike<number>): Matrix {
    const out = new Matrix(this.rows, indices.length);
    for (let j = 0; j < indices.length; j++) {
      const c = indices[j]!;
      if (!(c >= 0 && c < this.cols))
        throw new ValidationError(`indices[${j}]`, `a column index in [0, ${this.cols})`, c);
    }
    for (let i = 0; i < this.rows; i++) {
      const base = i * this.cols;
      const outBase = i * indices.length;
      for (let j = 0; j < indices.length; j++) out.data[outBase + j] = this.data[base + indices[j]!]!;
    }
    return out;
  }

  clone(): Matrix {
    return new Matrix(this.rows, this.cols, this.data.slice());
  }

  toArrays(): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < this.rows; i++) out.push(Array.from(this.row(i)));
    return out;
  }

  /** Stacks matrices with the same column count vertically. */
  static vstack(parts: ReadonlyArray<Matrix>): Matrix {
    const cols = parts[0]?.cols ?? 0;
    let rows = 0;
    parts.forEach((p, k) => {
      if (p.cols !== cols) throw new ValidationError(`parts[${k}].cols`, String(cols), p.cols);
      rows += p.rows;
    });
    const out = new Matrix(rows, cols);
    let offset = 0;
    for (const p of parts) {
      out.data.set(p.data, offset);
      offset += p.data.length;
    }
    return out;
  }

  /** The first non-finite cell (NaN or ±Infinity), or null when every cell is finite. */
  findNonFinite(): { row: number; col: number; value: number } | null {
    const d = this.data;
    for (let k = 0; k < d.length; k++) {
      const v = d[k]!;
      if (!Number.isFinite(v)) return { row: Math.floor(k / this.cols), col: k % this.cols, value: v };
    }
    return null;
  }
}

/** Feature names travel with the data. `y` holds labels (0/1) or graded targets (e.g. severity 0–3). */
export interface Dataset {
  X: Matrix;
  y?: Float64Array;
  featureNames: string[];
}

/** Throws a ValidationError naming the cell when X has a NaN or infinite value. */
export function assertFinite(X: Matrix, name = 'X'): void {
  const bad = X.findNonFinite();
  if (bad) {
    throw new ValidationError(
      `${name}[${bad.row}][${bad.col}]`,
      'a finite number (impute or drop missing values first)',
      bad.value,
    );
  }
}

/** Throws a ValidationError when X does not have the expected column count. */
export function assertColumns(X: Matrix, expected: number, name = 'X'): void {
  if (X.cols !== expected) {
    throw new ValidationError(
      `${name}.cols`,
      `${expected} columns (the number the model was fitted with)`,
      X.cols,
    );
  }
}
