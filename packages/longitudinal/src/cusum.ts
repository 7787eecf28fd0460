import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { assertFiniteSeries, insufficientData, type TestOutcome } from './series';

/**
 * Tabular CUSUM on standardised values zᵢ = (xᵢ − μ0) / σ (Page 1954; Montgomery, *Introduction to
 * Statistical Quality Control*, §9.1):
 *
 *   C⁺ᵢ = max(0, C⁺ᵢ₋₁ + zᵢ − k)      C⁻ᵢ = max(0, C⁻ᵢ₋₁ − zᵢ − k)      C⁺₀ = C⁻₀ = headStart
 *
 * and it signals when C⁺ᵢ > h (upward shift) or C⁻ᵢ > h (downward shift). k and h are in σ units:
 * k = δ/2 tunes the chart to detect a shift of δσ fastest; with k = 0.5, h = 4 gives an in-control
 * average run length of about 168 points and h = 5 about 465.
 */
export const cusumOptionsSchema = z.strictObject({
  /** μ0, the in-control mean. */
  target: z.number().finite(),
  /** σ of one value when in control (> 0), e.g. from `estimateBaseline`. */
  sigma: z.number().finite().positive(),
  /** Reference value (allowance) in σ units; 0.5 detects a 1σ shift fastest. */
  k: z.number().finite().nonnegative().default(0.5),
  /** Decision interval in σ units. */
  h: z.number().finite().positive().default(5),
  /**
   * Fast initial response: both sums start here (σ units, < h) instead of 0, so a process that is
   * already shifted at the start signals sooner (Lucas & Crosier 1982 use h/2).
   */
  headStart: z.number().finite().nonnegative().default(0),
  /** After a signal, restart both sums from `headStart` (to count every signal) instead of continuing. */
  resetOnSignal: z.boolean().default(false),
});
export type CusumOptions = z.input<typeof cusumOptionsSchema>;
type ParsedCusumOptions = z.output<typeof cusumOptionsSchema>;

/** Which side crossed h at a point: `upper` (C⁺ > h), `lower` (C⁻ > h), `both`, or null. */
export type CusumSide = 'upper' | 'lower' | 'both' | null;

/** The chart after one more value. */
export interface CusumState {
  /** 0-based index of the value just pushed. */
  readonly index: number;
  readonly value: number;
  /** The standardised value (x − μ0) / σ. */
  readonly z: number;
  /** C⁺ after this value (σ units; before any reset). */
  readonly upper: number;
  /** C⁻ after this value (σ units, ≥ 0; before any reset). */
  readonly lower: number;
  /** The side that signals at this value, or null. */
  readonly signal: CusumSide;
  /** Index of the first signal so far (any side), or null. */
  readonly firstSignalIndex: number | null;
}

/** A streaming CUSUM: feed values as they arrive (e.g. one fraction at a time). */
export interface CusumMonitor {
  /** Adds one value and returns the chart's state after it. Throws on a non-finite value. */
  push(value: number): CusumState;
  /**
   * `push` without building the state object (for charts stepped millions of times): returns the
   * side that signals at the value; `upper` and `lower` then hold its C⁺ and C⁻.
   */
  step(value: number): CusumSide;
  /** C⁺ after the last value (σ units; before any reset), `headStart` before the first. */
  readonly upper: number;
  /** C⁻ after the last value (σ units; before any reset), `headStart` before the first. */
  readonly lower: number;
  /** The last state, or null before the first push. */
  readonly state: CusumState | null;
  /** Back to the start (both sums at `headStart`, no signal seen). */
  reset(): void;
  readonly options: Readonly<ParsedCusumOptions>;
}

export function createCusum(options: CusumOptions): CusumMonitor {
  const o = parseCusumOptions(options);
  return new CusumStepper(o);
}

class CusumStepper implements CusumMonitor {
  private cPlus: number;
  private cMinus: number;
  private count = 0;
  private first: number | null = null;
  /** The last value's figures; its state object is built only when asked for. */
  private lastValue = Number.NaN;
  private lastZ = Number.NaN;
  private lastUpper: number;
  private lastLower: number;
  private lastSignal: CusumSide = null;
  private last: CusumState | null = null;

  constructor(readonly options: ParsedCusumOptions) {
    if (options.headStart >= options.h) {
      throw new ValidationError('cusum.headStart', `a number < h (${options.h})`, options.headStart);
    }
    this.cPlus = options.headStart;
    this.cMinus = options.headStart;
    this.lastUpper = options.headStart;
    this.lastLower = options.headStart;
  }

  get upper(): number {
    return this.lastUpper;
  }

  get lower(): number {
    return this.lastLower;
  }

  get state(): CusumState | null {
    if (this.last === null && this.count > 0)
      this.last = {
        index: this.count - 1,
        value: this.lastValue,
        z: this.lastZ,
        upper: this.lastUpper,
        lower: this.lastLower,
        signal: this.lastSignal,
        firstSignalIndex: this.first,
      };
    return this.last;
  }

  push(value: number): CusumState {
    this.step(value);
    return this.state!;
  }

  step(value: number): CusumSide {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ValidationError(`cusum.push(value) at index ${this.count}`, 'a finite number', value);
    }
    const { target, sigma, k, h, headStart, resetOnSignal } = this.options;
    const z = (value - target) / sigma;
    this.cPlus = Math.max(0, this.cPlus + z - k);
    this.cMinus = Math.max(0, this.cMinus - z - k);
    const up = this.cPlus > h;
    const down = this.cMinus > h;
    const signal: CusumSide = up && down ? 'both' : up ? 'upper' : down ? 'lower' : null;
    const index = this.count++;
    if (signal !== null && this.first === null) this.first = index;
    this.lastValue = value;
    this.lastZ = z;
    this.lastUpper = this.cPlus;
    this.lastLower = this.cMinus;
    this.lastSignal = signal;
    this.last = null;
    if (signal !== null && resetOnSignal) {
      this.cPlus = headStart;
      this.cMinus = headStart;
    }
    return signal;
  }

  reset(): void {
    this.cPlus = this.options.headStart;
    this.cMinus = this.options.headStart;
    this.count = 0;
    this.first = null;
    this.lastValue = Number.NaN;
    this.lastZ = Number.NaN;
    this.lastUpper = this.options.headStart;
    this.lastLower = this.options.headStart;
    this.lastSignal = null;
    this.last = null;
  }
}

/** The whole chart over a series. */
export interface CusumResult {
  readonly n: number;
  /** C⁺ per point (σ units). */
  readonly upper: Float64Array;
  /** C⁻ per point (σ units, ≥ 0). */
  readonly lower: Float64Array;
  /** 0-based index of the first signal on either side, or null if it never fired. */
  readonly signalIndex: number | null;
  /** The side of that first signal. */
  readonly signalSide: CusumSide;
  /** Run length to signal: points observed until it fired (signalIndex + 1), or null. */
  readonly runLength: number | null;
  /** First index at which C⁺ > h, or null. */
  readonly upperSignalIndex: number | null;
  /** First index at which C⁻ > h, or null. */
  readonly lowerSignalIndex: number | null;
  /** Every index at which a side was above h (with `resetOnSignal`, each new signal). */
  readonly signalIndices: readonly number[];
}

/** Runs the tabular CUSUM over `values` (needs ≥ 1 value). */
export function cusum(values: ArrayLike<number>, options: CusumOptions): TestOutcome<CusumResult> {
  assertFiniteSeries(values, 'values');
  const monitor = createCusum(options);
  const n = values.length;
  if (n < 1) return insufficientData(n, 1);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const signalIndices: number[] = [];
  let upperSignalIndex: number | null = null;
  let lowerSignalIndex: number | null = null;
  let signalSide: CusumSide = null;
  for (let i = 0; i < n; i++) {
    const signal = monitor.step(values[i]!);
    upper[i] = monitor.upper;
    lower[i] = monitor.lower;
    if (signal === null) continue;
    signalIndices.push(i);
    if (signalSide === null) signalSide = signal;
    if (upperSignalIndex === null && (signal === 'upper' || signal === 'both')) upperSignalIndex = i;
    if (lowerSignalIndex === null && (signal === 'lower' || signal === 'both')) lowerSignalIndex = i;
  }
  const signalIndex = signalIndices.length ? signalIndices[0]! : null;
  return {
    status: 'ok',
    n,
    upper,
    lower,
    signalIndex,
    signalSide,
    runLength: signalIndex === null ? null : signalIndex + 1,
    upperSignalIndex,
    lowerSignalIndex,
    signalIndices,
  };
}

const CUSUM_KEYS: ReadonlySet<string> = new Set(['target', 'sigma', 'k', 'h', 'headStart', 'resetOnSignal']);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The options with their defaults. A valid plain object is checked by hand (a tracker creates a
 * chart per course and parameter, hundreds of thousands of them); anything else goes through the
 * schema, whose error names the field.
 */
function parseCusumOptions(options: CusumOptions): ParsedCusumOptions {
  if (
    typeof options === 'object' &&
    options !== null &&
    Object.getPrototypeOf(options) === Object.prototype
  ) {
    const { target, sigma, k = 0.5, h = 5, headStart = 0, resetOnSignal = false } = options;
    if (
      Object.keys(options).every((key) => CUSUM_KEYS.has(key)) &&
      finite(target) &&
      finite(sigma) &&
      sigma > 0 &&
      finite(k) &&
      k >= 0 &&
      finite(h) &&
      h > 0 &&
      finite(headStart) &&
      headStart >= 0 &&
      typeof resetOnSignal === 'boolean'
    )
      return { target, sigma, k, h, headStart, resetOnSignal };
  }
  return parseWith(cusumOptionsSchema, options, 'cusum');
}
