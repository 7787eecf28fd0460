import { Rng, ValidationError } from '@anomalia/core';

/** p(anomalous) = σ(bias + Σ_k weights[k] · x[k]) on the raw (unstandardised) inputs. */
export interface LogisticModel {
  weights: number[];
  bias: number;
}

export interface LogisticOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the weights (not the bias), per sample. */
  l2: number;
  seed: number;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function logit(model: LogisticModel, x: ArrayLike<number>): number {
  let z = model.bias;
  for (let k = 0; k < model.weights.length; k++) z += model.weights[k]! * x[k]!;
  return z;
}

/**
 * L2-regularised logistic regression by mini-batch gradient descent with Adam, on standardised
 * inputs (so one learning rate suits every feature); the result is mapped back to raw inputs.
 * Rows are shuffled each epoch with a seeded Rng. Returns the model and the mean log-loss per epoch.
 */
export function fitLogistic(
  rows: readonly ArrayLike<number>[],
  labels: ArrayLike<number>,
  options: LogisticOptions,
): { model: LogisticModel; history: Array<{ epoch: number; loss: number }> } {
  const n = rows.length;
  if (n === 0) throw new ValidationError('rows', 'at least one row', 0);
  const d = rows[0]!.length;
  const { epochs, batchSize, learningRate, l2 } = options;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new ValidationError('epochs', 'a positive integer', epochs);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ValidationError('batchSize', 'a positive integer', batchSize);
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const r of rows) for (let k = 0; k < d; k++) mean[k]! += r[k]! / n;
  for (const r of rows) for (let k = 0; k < d; k++) std[k]! += (r[k]! - mean[k]!) ** 2 / n;
  for (let k = 0; k < d; k++) std[k] = Math.sqrt(std[k]!) || 1;
  const X = rows.map((r) => Float64Array.from({ length: d }, (_, k) => (r[k]! - mean[k]!) / std[k]!));
  // Parameters: w[0..d−1], bias at w[d].
  const w = new Float64Array(d + 1);
  const m = new Float64Array(d + 1);
  const v = new Float64Array(d + 1);
  const g = new Float64Array(d + 1);
  const rng = new Rng(options.seed);
  const history: Array<{ epoch: number; loss: number }> = [];
  let step = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = rng.permutation(n);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      g.fill(0);
      for (let b = start; b < end; b++) {
        const i = order[b]!;
        const x = X[i]!;
        let z = w[d]!;
        for (let k = 0; k < d; k++) z += w[k]! * x[k]!;
        const err = sigmoid(z) - labels[i]!;
        for (let k = 0; k < d; k++) g[k]! += err * x[k]!;
        g[d]! += err;
      }
      const size = end - start;
      step++;
      for (let k = 0; k <= d; k++) {
        const grad = g[k]! / size + (k < d ? l2 * w[k]! : 0);
        m[k] = 0.9 * m[k]! + 0.1 * grad;
        v[k] = 0.999 * v[k]! + 0.001 * grad * grad;
        const mh = m[k]! / (1 - 0.9 ** step);
        const vh = v[k]! / (1 - 0.999 ** step);
        w[k]! -= (learningRate * mh) / (Math.sqrt(vh) + 1e-8);
      }
    }
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = w[d]!;
      for (let k = 0; k < d; k++) z += w[k]! * X[i]![k]!;
      // log(1 + e^z) − y·z, computed without overflow.
      loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - labels[i]! * z;
    }
    history.push({ epoch, loss: loss / n });
  }
  const weights = Array.from({ length: d }, (_, k) => w[k]! / std[k]!);
  let bias = w[d]!;
  for (let k = 0; k < d; k++) bias -= (w[k]! * mean[k]!) / std[k]!;
  return { model: { weights, bias }, history };
}
