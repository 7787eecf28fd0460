import { Matrix, ValidationError } from '@anomalia/core';

/**
 * 2-D PCA projection (e.g. of VAE latent means, for a scatter plot): rows centred, projected on
 * the two leading eigenvectors of the covariance (power iteration with deflation).
 */
export function pca2d(X: Matrix): {
  projection: Matrix;
  components: [Float64Array, Float64Array];
  explainedVariance: [number, number];
  mean: Float64Array;
} {
  if (X.rows < 2) throw new ValidationError('X.rows', 'at least 2 rows for PCA', X.rows);
  if (X.cols < 2) throw new ValidationError('X.cols', 'at least 2 columns for a 2-D projection', X.cols);
  const d = X.cols;
  const n = X.rows;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += X.data[i * d + j]! / n;
  const C = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const xa = X.data[i * d + a]! - mean[a]!;
      for (let b = a; b < d; b++) C[a * d + b]! += (xa * (X.data[i * d + b]! - mean[b]!)) / (n - 1);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) C[a * d + b] = C[b * d + a]!;
  const leading = (): { v: Float64Array; lambda: number } => {
    let v = new Float64Array(d).map((_, i) => 1 / Math.sqrt(d) + i * 1e-3);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a]! += C[a * d + b]! * v[b]!;
      const norm = Math.hypot(...w);
      if (norm === 0) return { v, lambda: 0 };
      for (let a = 0; a < d; a++) w[a]! /= norm;
      const delta = w.reduce((s, x, a) => s + Math.abs(x - v[a]!), 0);
      v = w;
      lambda = norm;
      if (delta < 1e-12) break;
    }
    return { v, lambda };
  };
  const first = leading();
  for (let a = 0; a < d; a++)
    for (let b = 0; b < d; b++) C[a * d + b]! -= first.lambda * first.v[a]! * first.v[b]!;
  const second = leading();
  const projection = new Matrix(n, 2);
  for (let i = 0; i < n; i++) {
    let p0 = 0;
    let p1 = 0;
    for (let j = 0; j < d; j++) {
      const x = X.data[i * d + j]! - mean[j]!;
      p0 += x * first.v[j]!;
      p1 += x * second.v[j]!;
    }
    projection.data[i * 2] = p0;
    projection.data[i * 2 + 1] = p1;
  }
  return {
    projection,
    components: [first.v, second.v],
    explainedVariance: [first.lambda, second.lambda],
    mean,
  };
}
