import type { Matrix } from '@anomalia/core';
import { blockDots, rowSquaredNorms } from '../shared/block-dots';
import { acquireKernels, releaseKernels, simdAvailable } from '../shared/simd-dots';
import { type KernelSpec, kernelFromDot } from './kernel';

/** Query rows per block: the dot products of one block with every support vector are kept at once. */
const QUERY_BLOCK = 64;

/**
 * Σ_i coef_i · K(sv_i, x) − ρ for every row x (scikit-learn's decision_function for a
 * one-class SVM), summed over the support vectors in order. Dot products come in blocks of
 * queries × support vectors (WebAssembly SIMD when available). For rbf the squared distance
 * is taken as ‖x‖² + ‖sv‖² − 2x·sv, clamped at 0; it differs from libsvm's Σ(x − sv)² only by
 * rounding.
 */
export function decisionFunction(
  X: Matrix,
  supportVectors: Matrix,
  coef: Float64Array,
  rho: number,
  spec: KernelSpec,
): Float64Array {
  const n = X.rows;
  const nSV = supportVectors.rows;
  const d = X.cols;
  const out = new Float64Array(n);
  if (nSV === 0) return out.fill(-rho);
  const stride = d + (d % 2);
  const svRows = Math.ceil(nSV / 2) * 2;
  const simd = simdAvailable() && d > 0 ? acquireKernels() : null;
  let sv: Float64Array;
  let qb: Float64Array;
  let dots: Float64Array;
  if (simd) {
    simd.layout({ sv: svRows * stride * 8, q: QUERY_BLOCK * stride * 8, dots: QUERY_BLOCK * svRows * 8 });
    sv = simd.f64('sv');
    qb = simd.f64('q');
    dots = simd.f64('dots');
  } else {
    sv = new Float64Array(svRows * stride);
    qb = new Float64Array(QUERY_BLOCK * stride);
    dots = new Float64Array(QUERY_BLOCK * svRows);
  }
  for (let i = 0; i < nSV; i++)
    for (let j = 0; j < d; j++) sv[i * stride + j] = supportVectors.data[i * d + j]!;
  const svSq = rowSquaredNorms(supportVectors.data, nSV, d);
  const xSq = rowSquaredNorms(X.data, n, d);
  const { gamma } = spec;
  for (let q0 = 0; q0 < n; q0 += QUERY_BLOCK) {
    const m = Math.min(n, q0 + QUERY_BLOCK) - q0;
    for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) qb[i * stride + j] = X.data[(q0 + i) * d + j]!;
    let rowStride: number;
    if (simd) {
      const mp = Math.ceil(m / 4) * 4;
      simd.dots4x2(simd.address('q'), mp, simd.address('sv'), svRows, stride * 8, simd.address('dots'));
      rowStride = svRows;
    } else {
      blockDots(qb, 0, m, sv, 0, nSV, stride, dots);
      rowStride = nSV;
    }
    for (let i = 0; i < m; i++) {
      const o = i * rowStride;
      const sx = xSq[q0 + i]!;
      let sum = 0;
      if (spec.kernel === 'rbf') {
        for (let s = 0; s < nSV; s++) {
          const d2 = sx + svSq[s]! - 2 * dots[o + s]!;
          sum += coef[s]! * Math.exp(-gamma * Math.max(d2, 0));
        }
      } else {
        for (let s = 0; s < nSV; s++) sum += coef[s]! * kernelFromDot(spec, dots[o + s]!, sx, svSq[s]!);
      }
      out[q0 + i] = sum - rho;
    }
  }
  releaseKernels(simd);
  return out;
}
