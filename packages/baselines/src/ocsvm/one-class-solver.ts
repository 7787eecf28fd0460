import { KernelCache } from './kernel-cache';
import type { KernelMatrix } from './kernel-matrix';

/** libsvm's TAU: the curvature used when a pair's second-order coefficient is not positive. */
const TAU = 1e-12;
const LOWER = 0;
const UPPER = 1;
const FREE = 2;

export interface SolverOptions {
  nu: number;
  /** Stopping tolerance on the maximal violating pair (libsvm's eps, scikit-learn's tol). */
  tol: number;
  shrinking: boolean;
  cacheBytes: number;
  maxIter: number;
}

export interface OneClassSolution {
  /** Dual coefficients, in the training rows' order: 0 ≤ α_i ≤ 1, Σα = ν·l. */
  alpha: Float64Array;
  rho: number;
  /** Dual objective ½αᵀQα. */
  objective: number;
  iterations: number;
  converged: boolean;
}

/**
 * libsvm's SMO solver (Solver::Solve, Fan, Chen & Lin 2005) specialised to the one-class dual
 *   min ½ αᵀQα   subject to 0 ≤ α_i ≤ 1, Σ α_i = ν·l,
 * as scikit-learn runs it (solve_one_class with unit sample weights): second-order working-set
 * selection (WSS3), shrinking with gradient reconstruction, a least-recently-used cache of
 * float32 kernel columns, and the same order of operations and tie rules, so it follows the
 * same path to the same solution.
 */
export function solveOneClass(Q: KernelMatrix, options: SolverOptions): OneClassSolution {
  return new OneClassSolver(Q, options).solve();
}

class OneClassSolver {
  private readonly l: number;
  private readonly alpha: Float64Array;
  private readonly status: Uint8Array;
  private readonly G: Float64Array;
  /** Gradient contribution of the variables at the upper bound (for reconstruction after shrinking). */
  private readonly Gbar: Float64Array;
  private readonly activeSet: Int32Array;
  private activeSize: number;
  private unshrink = false;
  private readonly cache: KernelCache;
  private readonly QD: Float64Array;

  constructor(
    private readonly Q: KernelMatrix,
    private readonly options: SolverOptions,
  ) {
    const l = Q.l;
    this.l = l;
    this.QD = Q.diagonal;
    this.cache = new KernelCache(l, options.cacheBytes);
    this.alpha = new Float64Array(l);
    // scikit-learn's initialisation: α = C (= 1) for the first rows until ν·l is spent, the
    // remainder on the next one, 0 after. ν·l is accumulated as scikit-learn does (Σ C_i·ν).
    let nuL = 0;
    for (let i = 0; i < l; i++) nuL += options.nu;
    for (let i = 0; i < l && nuL > 0; i++) {
      this.alpha[i] = Math.min(1, nuL);
      nuL -= this.alpha[i]!;
    }
    this.status = new Uint8Array(l);
    for (let i = 0; i < l; i++) this.updateStatus(i);
    this.activeSet = Int32Array.from({ length: l }, (_, i) => i);
    this.activeSize = l;
    this.G = new Float64Array(l);
    this.Gbar = new Float64Array(l);
    this.initialGradient();
  }

  /**
   * G = Qα and Gbar = Σ_{α_i = 1} Q_i, as libsvm: for each i with α_i > 0 in increasing order,
   * column i is cached and added in. The columns are computed 32 at a time into a scratch block
   * (faster), then cached and accumulated one by one in libsvm's order.
   */
  private initialGradient(): void {
    const { l, alpha, G, Gbar } = this;
    const BLOCK = 32;
    const scratch = new Float32Array(BLOCK * l);
    for (let i0 = 0; i0 < l; i0 += BLOCK) {
      const m = Math.min(l, i0 + BLOCK) - i0;
      let needed = false;
      for (let a = 0; a < m; a++) if (this.status[i0 + a] !== LOWER) needed = true;
      if (!needed) continue;
      this.Q.fillColumns(i0, m, scratch);
      for (let a = 0; a < m; a++) {
        const i = i0 + a;
        if (this.status[i] === LOWER) continue;
        const { column, valid } = this.cache.get(i, l);
        if (valid < l) column.set(scratch.subarray(a * l + valid, a * l + l), valid);
        const ai = alpha[i]!;
        for (let j = 0; j < l; j++) G[j]! += ai * column[j]!;
        if (this.status[i] === UPPER) for (let j = 0; j < l; j++) Gbar[j]! += column[j]!;
      }
    }
  }

  private updateStatus(i: number): void {
    const a = this.alpha[i]!;
    this.status[i] = a >= 1 ? UPPER : a <= 0 ? LOWER : FREE;
  }

  /** The first `len` entries of kernel column i (libsvm's get_Q), from the cache or computed. */
  private column(i: number, len: number): Float32Array {
    const { column, valid } = this.cache.get(i, len);
    if (valid < len) this.Q.fill(i, valid, len, column);
    return column;
  }

  solve(): OneClassSolution {
    const { l } = this;
    const { shrinking, maxIter } = this.options;
    let iter = 0;
    let counter = Math.min(l, 1000) + 1;
    let converged = true;
    const pair = { i: -1, j: -1 };
    for (;;) {
      if (iter >= maxIter) {
        converged = false;
        break;
      }
      if (--counter === 0) {
        counter = Math.min(l, 1000);
        if (shrinking) this.shrink();
      }
      if (!this.selectWorkingSet(pair)) {
        // Optimal on the active set: reconstruct the whole gradient and check all variables.
        this.reconstructGradient();
        this.activeSize = l;
        if (!this.selectWorkingSet(pair)) break;
        counter = 1; // shrink at the next iteration
      }
      iter++;
      this.update(pair.i, pair.j);
    }
    const rho = this.calculateRho();
    let objective = 0;
    for (let i = 0; i < l; i++) objective += this.alpha[i]! * this.G[i]!;
    const alpha = new Float64Array(l);
    for (let i = 0; i < l; i++) alpha[this.activeSet[i]!] = this.alpha[i]!;
    return { alpha, rho, objective: objective / 2, iterations: iter, converged };
  }

  /** One SMO step on the pair (i, j): the two-variable subproblem solved exactly, clipped to the box. */
  private update(i: number, j: number): void {
    const { alpha, G, QD } = this;
    const active = this.activeSize;
    const Qi = this.column(i, active);
    const Qj = this.column(j, active);
    const oldAi = alpha[i]!;
    const oldAj = alpha[j]!;
    let quad = QD[i]! + QD[j]! - 2 * Qi[j]!;
    if (quad <= 0) quad = TAU;
    const delta = (G[i]! - G[j]!) / quad;
    const sum = alpha[i]! + alpha[j]!;
    alpha[i] = alpha[i]! - delta;
    alpha[j] = alpha[j]! + delta;
    if (sum > 1) {
      if (alpha[i]! > 1) {
        alpha[i] = 1;
        alpha[j] = sum - 1;
      }
    } else if (alpha[j]! < 0) {
      alpha[j] = 0;
      alpha[i] = sum;
    }
    if (sum > 1) {
      if (alpha[j]! > 1) {
        alpha[j] = 1;
        alpha[i] = sum - 1;
      }
    } else if (alpha[i]! < 0) {
      alpha[i] = 0;
      alpha[j] = sum;
    }
    const dAi = alpha[i]! - oldAi;
    const dAj = alpha[j]! - oldAj;
    for (let k = 0; k < active; k++) G[k]! += Qi[k]! * dAi + Qj[k]! * dAj;

    const wasUpperI = this.status[i] === UPPER;
    const wasUpperJ = this.status[j] === UPPER;
    this.updateStatus(i);
    this.updateStatus(j);
    const { Gbar, l } = this;
    if (wasUpperI !== (this.status[i] === UPPER)) {
      const full = this.column(i, l);
      const sign = wasUpperI ? -1 : 1;
      for (let k = 0; k < l; k++) Gbar[k]! += sign * full[k]!;
    }
    if (wasUpperJ !== (this.status[j] === UPPER)) {
      const full = this.column(j, l);
      const sign = wasUpperJ ? -1 : 1;
      for (let k = 0; k < l; k++) Gbar[k]! += sign * full[k]!;
    }
  }

  /**
   * WSS3: i maximises −G over variables below the upper bound; j, among variables above the
   * lower bound with −G_j < −G_i, minimises the second-order decrease −(G_i − G_j)² / (Q_ii +
   * Q_jj − 2Q_ij). Ties go to the last index, as in libsvm. False when optimal within tol.
   */
  private selectWorkingSet(out: { i: number; j: number }): boolean {
    const { G, status, QD } = this;
    const active = this.activeSize;
    let Gmax = Number.NEGATIVE_INFINITY;
    let GmaxIdx = -1;
    for (let t = 0; t < active; t++) {
      if (status[t] !== UPPER && -G[t]! >= Gmax) {
        Gmax = -G[t]!;
        GmaxIdx = t;
      }
    }
    const i = GmaxIdx;
    const Qi = i !== -1 ? this.column(i, active) : null;
    let Gmax2 = Number.NEGATIVE_INFINITY;
    let GminIdx = -1;
    let objDiffMin = Number.POSITIVE_INFINITY;
    for (let j = 0; j < active; j++) {
      if (status[j] === LOWER) continue;
      const Gj = G[j]!;
      if (Gj >= Gmax2) Gmax2 = Gj;
      const gradDiff = Gmax + Gj;
      if (gradDiff > 0) {
        const quad = QD[i]! + QD[j]! - 2 * Qi![j]!;
        const objDiff = quad > 0 ? -(gradDiff * gradDiff) / quad : -(gradDiff * gradDiff) / TAU;
        if (objDiff <= objDiffMin) {
          GminIdx = j;
          objDiffMin = objDiff;
        }
      }
    }
    if (Gmax + Gmax2 < this.options.tol || GminIdx === -1) return false;
    out.i = GmaxIdx;
    out.j = GminIdx;
    return true;
  }

  /** Variables at a bound that cannot move given the current maximal violation (libsvm's be_shrunk). */
  private canShrink(t: number, Gmax1: number, Gmax2: number): boolean {
    const s = this.status[t];
    if (s === UPPER) return -this.G[t]! > Gmax1;
    if (s === LOWER) return this.G[t]! > Gmax2;
    return false;
  }

  private shrink(): void {
    const { G, status, l } = this;
    let Gmax1 = Number.NEGATIVE_INFINITY;
    let Gmax2 = Number.NEGATIVE_INFINITY;
    for (let t = 0; t < this.activeSize; t++) {
      if (status[t] !== UPPER && -G[t]! >= Gmax1) Gmax1 = -G[t]!;
      if (status[t] !== LOWER && G[t]! >= Gmax2) Gmax2 = G[t]!;
    }
    if (!this.unshrink && Gmax1 + Gmax2 <= this.options.tol * 10) {
      // Close to optimal: bring every variable back once, with an exact gradient.
      this.unshrink = true;
      this.reconstructGradient();
      this.activeSize = l;
    }
    for (let t = 0; t < this.activeSize; t++) {
      if (!this.canShrink(t, Gmax1, Gmax2)) continue;
      this.activeSize--;
      while (this.activeSize > t) {
        if (!this.canShrink(this.activeSize, Gmax1, Gmax2)) {
          this.swap(t, this.activeSize);
          break;
        }
        this.activeSize--;
      }
    }
  }

  private swap(i: number, j: number): void {
    this.Q.swap(i, j);
    this.cache.swapIndex(i, j);
    for (const a of [this.G, this.Gbar, this.alpha]) {
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    let t = this.status[i]!;
    this.status[i] = this.status[j]!;
    this.status[j] = t;
    t = this.activeSet[i]!;
    this.activeSet[i] = this.activeSet[j]!;
    this.activeSet[j] = t;
  }

  /** Recomputes the gradient of the shrunk variables from Gbar and the free variables. */
  private reconstructGradient(): void {
    const { G, Gbar, alpha, status, l } = this;
    const active = this.activeSize;
    if (active === l) return;
    for (let j = active; j < l; j++) G[j] = Gbar[j]!;
    let nrFree = 0;
    for (let j = 0; j < active; j++) if (status[j] === FREE) nrFree++;
    if (nrFree * l > 2 * active * (l - active)) {
      for (let i = active; i < l; i++) {
        const Qi = this.column(i, active);
        for (let j = 0; j < active; j++) if (status[j] === FREE) G[i]! += alpha[j]! * Qi[j]!;
      }
    } else {
      for (let i = 0; i < active; i++) {
        if (status[i] !== FREE) continue;
        const Qi = this.column(i, l);
        const ai = alpha[i]!;
        for (let j = active; j < l; j++) G[j]! += ai * Qi[j]!;
      }
    }
  }

  /** ρ: the mean gradient over free variables, else the middle of the feasible interval. */
  private calculateRho(): number {
    const { G, status } = this;
    let ub = Number.POSITIVE_INFINITY;
    let lb = Number.NEGATIVE_INFINITY;
    let nrFree = 0;
    let sumFree = 0;
    for (let i = 0; i < this.activeSize; i++) {
      const g = G[i]!;
      if (status[i] === UPPER) lb = Math.max(lb, g);
      else if (status[i] === LOWER) ub = Math.min(ub, g);
      else {
        nrFree++;
        sumFree += g;
      }
    }
    return nrFree > 0 ? sumFree / nrFree : (ub + lb) / 2;
  }
}
