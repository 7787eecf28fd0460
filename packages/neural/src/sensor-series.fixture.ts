import { Matrix, Rng } from '@anomalia/core';

/** Synthetic sensor data for the window tests. */
export const sensorChannels = ['temperature', 'pressure', 'pump', 'flow'];

/** Four coupled sensors (shared phase, own frequency) with noise; `fault` adds a drift to one channel. */
export function sensorSeries(
  steps: number,
  seed: number,
  fault?: { channel: number; from: number; to: number; size: number },
): Matrix {
  const rng = new Rng(seed);
  const S = new Matrix(steps, 4);
  for (let t = 0; t < steps; t++) {
    const phase = t / 6;
    S.set(t, 0, Math.sin(phase) + 0.1 * rng.normal());
    S.set(t, 1, Math.cos(phase) + 0.1 * rng.normal());
    S.set(t, 2, 0.5 * Math.sin(2 * phase) + 0.1 * rng.normal());
    S.set(t, 3, Math.sin(phase) * Math.cos(phase) + 0.1 * rng.normal());
    if (fault && t >= fault.from && t < fault.to) {
      S.data[t * 4 + fault.channel]! += fault.size * ((t - fault.from + 1) / (fault.to - fault.from));
    }
  }
  return S;
}
