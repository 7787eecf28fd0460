import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { assertFiniteSeries, insufficientData, type TestOutcome } from './series';

/**
 * EWMA control chart (Roberts 1959; Montgomery §9.2): zᵢ = λ·xᵢ + (1 − λ)·zᵢ₋₁ with z₀ = μ0, and
 * limits μ0 ± L·σ·√(λ/(2 − λ)·(1 − (1 − λ)^{2i})) (i = 1, 2, …; the exact, time-varying limits,
 * which tighten the first points; `exactLimits: false` uses the asymptotic width). It signals when
 * zᵢ leaves the limits. Small λ (0.05–0.25) makes it sensitive to small sustained shifts, like
 * a CUSUM (Montgomery's Example 9.2 uses λ = 0.1, L = 2.7).
 */
export const ewmaOptionsSchema = z.strictObject({
  /** μ0, the in-control mean (also z₀). */
  target: z.number().finite(),
  /** σ of one value when in control (> 0). */
  sigma: z.number().finite().positive(),
  /** Weight of the newest value, in (0, 1]; 1 is a Shewhart chart. */
  lambda: z.number().finite().gt(0).lte(1).default(0.2),
  /** Width of the limits in σ_z units. */
  L: z.number().finite().positive().default(3),
  /** Time-varying limits (true) or the asymptotic ones from the first point (false). */
  exactLimits: z.boolean().default(true),
});
export type EwmaOptions = z.input<typeof ewmaOptionsSchema>;
type ParsedEwmaOptions = z.output<typeof ewmaOptionsSchema>;

/** The chart after one more value. */
export interface EwmaState {
  /** 0-based index of the value just pushed. */
  readonly index: number;
  readonly value: number;
  /** The EWMA statistic zᵢ. */
  readonly ewma: number;
  readonly lowerLimit: number;
  readonly upperLimit: number;
  /** `upper` when zᵢ > upper limit, `lower` when below the lower limit, else null. */
  readonly signal: 'upper' | 'lower' | null;
  /** Index of the first signal so far, or null. */
  readonly firstSignalIndex: number | null;
}

/** A streaming EWMA chart. */
export interface EwmaMonitor {
  /** Adds one value and returns the chart's state after it. Throws on a non-finite value. */
  push(value: number): EwmaState;
  /** The last state, or null before the first push. */
  readonly state: EwmaState | null;
  /** Back to z₀ = μ0, no signal seen. */
  reset(): void;
  readonly options: Readonly<ParsedEwmaOptions>;
}

export function createEwma(options: EwmaOptions): EwmaMonitor {
  return new EwmaStepper(parseWith(ewmaOptionsSchema, options, 'ewma'));
}

class EwmaStepper implements EwmaMonitor {
  private z: number;
  private decaySquared = 1;
  private count = 0;
  private first: number | null = null;
  private last: EwmaState | null = null;
  private readonly asymptoticVariance: number;

  constructor(readonly options: ParsedEwmaOptions) {
    this.z = options.target;
    this.asymptoticVariance = options.lambda / (2 - options.lambda);
  }

  get state(): EwmaState | null {
    return this.last;
  }

  push(value: number): EwmaState {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ValidationError(`ewma.push(value) at index ${this.count}`, 'a finite number', value);
    }
    const { target, sigma, lambda, L, exactLimits } = this.options;
    this.z = lambda * value + (1 - lambda) * this.z;
    this.decaySquared *= (1 - lambda) * (1 - lambda);
    const variance = exactLimits
      ? this.asymptoticVariance * (1 - this.decaySquared)
      : this.asymptoticVariance;
    const half = L * sigma * Math.sqrt(variance);
    const lowerLimit = target - half;
    const upperLimit = target + half;
    const signal = this.z > upperLimit ? 'upper' : this.z < lowerLimit ? 'lower' : null;
    const index = this.count++;
    if (signal !== null && this.first === null) this.first = index;
    this.last = { index, value, ewma: this.z, lowerLimit, upperLimit, signal, firstSignalIndex: this.first };
    return this.last;
  }

  reset(): void {
    this.z = this.options.target;
    this.decaySquared = 1;
    this.count = 0;
    this.first = null;
    this.last = null;
  }
}

/** The whole chart over a series. */
export interface EwmaResult {
  readonly n: number;
  readonly ewma: Float64Array;
  readonly lowerLimit: Float64Array;
  readonly upperLimit: Float64Array;
  /** 0-based index of the first point outside the limits, or null. */
  readonly signalIndex: number | null;
  readonly signalSide: 'upper' | 'lower' | null;
  /** Points observed until the first signal (signalIndex + 1), or null. */
  readonly runLength: number | null;
  /** Every index outside the limits. */
  readonly signalIndices: readonly number[];
}

/** Runs the EWMA chart over `values` (needs ≥ 1 value). */
export function ewma(values: ArrayLike<number>, options: EwmaOptions): TestOutcome<EwmaResult> {
  assertFiniteSeries(values, 'values');
  const monitor = createEwma(options);
  const n = values.length;
  if (n < 1) return insufficientData(n, 1);
  const out = new Float64Array(n);
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  const signalIndices: number[] = [];
  let signalSide: 'upper' | 'lower' | null = null;
  for (let i = 0; i < n; i++) {
    const s = monitor.push(values[i]!);
    out[i] = s.ewma;
    lo[i] = s.lowerLimit;
    hi[i] = s.upperLimit;
    if (s.signal === null) continue;
    if (signalSide === null) signalSide = s.signal;
    signalIndices.push(i);
  }
  const signalIndex = signalIndices.length ? signalIndices[0]! : null;
  return {
    status: 'ok',
    n,
    ewma: out,
    lowerLimit: lo,
    upperLimit: hi,
    signalIndex,
    signalSide,
    runLength: signalIndex === null ? null : signalIndex + 1,
    signalIndices,
  };
}
