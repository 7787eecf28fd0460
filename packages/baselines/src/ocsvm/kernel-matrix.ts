import type { Matrix } from '@anomalia/core';
import { blockDots, copyRows, rowSquaredNorms } from '../shared/block-dots';
import { acquireKernels, releaseKernels, type SimdKernels, simdAvailable } from '../shared/simd-dots';
import { type KernelSpec, kernelFromDot } from './kernel';

/** Columns of the block products in fillColumns. */
const BLOCK = 1024;

/**
 * The training kernel matrix as the solver sees it: rows in the solver's current order of
 * variables (shrinking swaps them, as libsvm's Kernel::swap_index swaps row pointers), columns
 * computed on demand. The rows are stored contiguously in that order, so a column is a run of
 * dot products over consecutive rows (WebAssembly SIMD when available).
 */
export class KernelMatrix {
  readonly l: number;
  /** K(x_i, x_i) in the current order (libsvm's QD), in double precision. */
  readonly diagonal: Float64Array;
  private readonly d: number;
  private readonly stride: number;
  private readonly rows: Float64Array;
  private readonly sq: Float64Array;
  private readonly dots: Float64Array;
  private readonly simd: SimdKernels | null;
  /** Dot products of up to 32 rows with BLOCK rows, for fillColumns. */
  private readonly block: Float64Array;

  constructor(
    X: Matrix,
    private readonly spec: KernelSpec,
  ) {
    const l = X.rows;
    const d = X.cols;
    this.l = l;
    this.d = d;
    this.stride = d + (d % 2);
    // Three spare rows so the four-row SIMD tiles never read past the end.
    const rowCount = l + 3;
    this.simd = simdAvailable() && d > 0 ? acquireKernels() : null;
    if (this.simd) {
      this.simd.layout({ rows: rowCount * this.stride * 8, dots: rowCount * 8, block: 32 * BLOCK * 8 });
      this.rows = this.simd.f64('rows');
      this.dots = this.simd.f64('dots');
      this.block = this.simd.f64('block');
    } else {
      this.rows = new Float64Array(rowCount * this.stride);
      this.dots = new Float64Array(rowCount);
      this.block = new Float64Array(32 * BLOCK);
    }
    copyRows(X.data, l, d, this.rows, this.stride);
    this.sq = rowSquaredNorms(X.data, l, d);
    this.diagonal = new Float64Array(l);
    for (let i = 0; i < l; i++) this.diagonal[i] = kernelFromDot(spec, this.sq[i]!, this.sq[i]!, this.sq[i]!);
  }

  /** out[j] = K(x_i, x_j) for j in [start, end), rounded to float32 as libsvm stores it. */
  fill(i: number, start: number, end: number, out: Float32Array): void {
    if (end <= start) return;
    const { stride, rows, dots, sq, spec } = this;
    const count = end - start;
    if (this.simd) {
      const rowBytes = stride * 8;
      const base = this.simd.address('rows');
      this.simd.dots1x4(
        base + i * rowBytes,
        base + start * rowBytes,
        Math.ceil(count / 4) * 4,
        rowBytes,
        this.simd.address('dots'),
      );
    } else {
      const oi = i * stride;
      for (let j = 0; j < count; j++) {
        const oj = (start + j) * stride;
        let s = 0;
        for (let k = 0; k < this.d; k++) s += rows[oi + k]! * rows[oj + k]!;
        dots[j] = s;
      }
    }
    const si = sq[i]!;
    const { gamma } = spec;
    switch (spec.kernel) {
      case 'rbf':
        for (let j = 0; j < count; j++)
          out[start + j] = Math.exp(-gamma * (si + sq[start + j]! - 2 * dots[j]!));
        break;
      case 'linear':
        for (let j = 0; j < count; j++) out[start + j] = dots[j]!;
        break;
      default:
        for (let j = 0; j < count; j++) out[start + j] = kernelFromDot(spec, dots[j]!, si, sq[start + j]!);
    }
  }

  /**
   * Full columns i0 .. i0 + m − 1 (m ≤ 32) at once into out (row a = column i0 + a, length l),
   * from blocks of dot products: faster than column by column when many columns are needed
   * together, as for libsvm's initial gradient. Values are the same as `fill` gives.
   */
  fillColumns(i0: number, m: number, out: Float32Array): void {
    const { l, stride, sq, spec, block, simd } = this;
    for (let j0 = 0; j0 < l; j0 += BLOCK) {
      const n = Math.min(l, j0 + BLOCK) - j0;
      const np = Math.ceil(n / 2) * 2;
      if (simd) {
        const rowBytes = stride * 8;
        const base = simd.address('rows');
        simd.dots4x2(
          base + i0 * rowBytes,
          Math.ceil(m / 4) * 4,
          base + j0 * rowBytes,
          np,
          rowBytes,
          simd.address('block'),
        );
      } else blockDots(this.rows, i0, m, this.rows, j0, n, stride, block);
      const bStride = simd ? np : n;
      for (let a = 0; a < m; a++) {
        const si = sq[i0 + a]!;
        const o = a * bStride;
        const c = a * l + j0;
        if (spec.kernel === 'rbf') {
          const gamma = spec.gamma;
          for (let b = 0; b < n; b++) out[c + b] = Math.exp(-gamma * (si + sq[j0 + b]! - 2 * block[o + b]!));
        } else {
          for (let b = 0; b < n; b++) out[c + b] = kernelFromDot(spec, block[o + b]!, si, sq[j0 + b]!);
        }
      }
    }
  }

  /** Gives the SIMD memory back for reuse; the matrix must not be used afterwards. */
  release(): void {
    releaseKernels(this.simd);
  }

  /** Exchanges variables i and j (rows, norms, diagonal). */
  swap(i: number, j: number): void {
    if (i === j) return;
    const { rows, stride, sq, diagonal } = this;
    const oi = i * stride;
    const oj = j * stride;
    for (let k = 0; k < this.d; k++) {
      const t = rows[oi + k]!;
      rows[oi + k] = rows[oj + k]!;
      rows[oj + k] = t;
    }
    let t = sq[i]!;
    sq[i] = sq[j]!;
    sq[j] = t;
    t = diagonal[i]!;
    diagonal[i] = diagonal[j]!;
    diagonal[j] = t;
  }
}
