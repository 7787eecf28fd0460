import { type Matrix, ValidationError } from '@anomalia/core';
import type { NeuralDetector } from './neural-detector';

/**
 * Active learning: the k rows whose MC-dropout score varies most (highest standard deviation
 * over `passes` stochastic passes), most uncertain first, for a human to label next.
 */
export async function selectMostUncertain(
  // biome-ignore lint/suspicious/noExplicitAny: any neural model
  model: NeuralDetector<any>,
  X: Matrix,
  k: number,
  options: { passes?: number; seed?: number } = {},
): Promise<{ indices: Int32Array; std: Float64Array }> {
  if (!Number.isInteger(k) || k < 1 || k > X.rows) {
    throw new ValidationError('k', `an integer in [1, ${X.rows}]`, k);
  }
  const u = await model.predictWithUncertainty(X, options);
  const order = Array.from(u.std.keys()).sort((a, b) => u.std[b]! - u.std[a]! || a - b);
  const indices = Int32Array.from(order.slice(0, k));
  return { indices, std: Float64Array.from(indices, (i) => u.std[i]!) };
}
