import type { Matrix } from '@anomalia/core';

export type KernelName = 'rbf' | 'linear' | 'poly' | 'sigmoid';

/** A kernel with its resolved numeric parameters (gamma already computed from "scale" / "auto"). */
export interface KernelSpec {
  kernel: KernelName;
  gamma: number;
  degree: number;
  coef0: number;
}

/**
 * scikit-learn's gamma: "scale" = 1 / (n_features · X.var()) over all values (1 when the
 * variance is 0), "auto" = 1 / n_features, or the number given.
 */
export function resolveGamma(gamma: 'scale' | 'auto' | number, X: Matrix): number {
  if (typeof gamma === 'number') return gamma;
  if (gamma === 'auto') return 1 / X.cols;
  const { data } = X;
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i]!;
  mean /= data.length;
  let v = 0;
  for (let i = 0; i < data.length; i++) v += (data[i]! - mean) ** 2;
  v /= data.length;
  return v > 0 ? 1 / (X.cols * v) : 1;
}

/** libsvm's integer power by repeated squaring (used for the polynomial kernel). */
export function powi(base: number, times: number): number {
  let tmp = base;
  let ret = 1;
  for (let t = times; t > 0; t = Math.floor(t / 2)) {
    if (t % 2 === 1) ret *= tmp;
    tmp *= tmp;
  }
  return ret;
}

/**
 * The kernel value from a dot product and, for rbf, the two squared norms, as libsvm computes
 * it during training: rbf = exp(−γ(‖x‖² + ‖y‖² − 2x·y)), poly = (γx·y + coef0)^degree,
 * sigmoid = tanh(γx·y + coef0), linear = x·y.
 */
export function kernelFromDot(spec: KernelSpec, dot: number, sqA: number, sqB: number): number {
  switch (spec.kernel) {
    case 'rbf':
      return Math.exp(-spec.gamma * (sqA + sqB - 2 * dot));
    case 'linear':
      return dot;
    case 'poly':
      return powi(spec.gamma * dot + spec.coef0, spec.degree);
    case 'sigmoid':
      return Math.tanh(spec.gamma * dot + spec.coef0);
  }
}
