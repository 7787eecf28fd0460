import { Matrix, parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';

/**
 * Time-series helpers (no domain): a series is a Matrix whose rows are time steps and whose
 * columns are channels.
 */

export interface WindowOptions {
  /** Time steps per window. */
  size: number;
  /** Steps between window starts (default 1). */
  stride?: number;
}

/** Sliding windows of a series, stored flat: window w, step t, channel c at `(w·size + t)·channels + c`. */
export interface Windows {
  data: Float64Array;
  count: number;
  size: number;
  channels: number;
  /** Row of the series where each window starts. */
  starts: Int32Array;
}

function checkPositiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(field, 'a positive integer', value);
  }
  return value;
}

/** All windows of `size` rows, `stride` rows apart (a series shorter than `size` has none). */
export function slidingWindows(series: Matrix, options: WindowOptions): Windows {
  const size = checkPositiveInt(options.size, 'options.size');
  const stride = checkPositiveInt(options.stride ?? 1, 'options.stride');
  const channels = series.cols;
  const count = series.rows < size ? 0 : Math.floor((series.rows - size) / stride) + 1;
  const data = new Float64Array(count * size * channels);
  const starts = new Int32Array(count);
  const span = size * channels;
  for (let w = 0; w < count; w++) {
    const start = w * stride;
    starts[w] = start;
    data.set(series.data.subarray(start * channels, start * channels + span), w * span);
  }
  return { data, count, size, channels, starts };
}

/** Windows as a matrix with one flattened window per row (count × size·channels). */
export function windowsToMatrix(windows: Windows): Matrix {
  return new Matrix(windows.count, windows.size * windows.channels, windows.data);
}

/** Window `w` as a size × channels matrix (a copy). */
export function windowAt(windows: Windows, w: number): Matrix {
  if (!Number.isInteger(w) || w < 0 || w >= windows.count) {
    throw new ValidationError('w', `a window index in [0, ${windows.count})`, w);
  }
  const span = windows.size * windows.channels;
  return new Matrix(windows.size, windows.channels, windows.data.slice(w * span, (w + 1) * span));
}

/**
 * Fills gaps channel by channel: every run of NaN between two values is linearly interpolated;
 * leading and trailing runs take the nearest value (edges held). A channel with no value at all
 * is a ValidationError naming it, unless `emptyChannel` gives the value to use. Returns a copy.
 */
export function interpolateGaps(series: Matrix, options: { emptyChannel?: number } = {}): Matrix {
  const out = series.clone();
  const { rows, cols, data } = out;
  for (let c = 0; c < cols; c++) {
    let last = -1;
    for (let t = 0; t < rows; t++) {
      const v = data[t * cols + c]!;
      if (Number.isNaN(v)) continue;
      if (!Number.isFinite(v))
        throw new ValidationError(`series[${t}][${c}]`, 'a finite number or NaN for a gap', v);
      if (last === -1) {
        for (let k = 0; k < t; k++) data[k * cols + c] = v;
      } else if (t - last > 1) {
        const from = data[last * cols + c]!;
        for (let k = last + 1; k < t; k++) data[k * cols + c] = from + ((v - from) * (k - last)) / (t - last);
      }
      last = t;
    }
    if (last === -1) {
      if (rows === 0) continue;
      if (options.emptyChannel === undefined) {
        throw new ValidationError(
          `series channel ${c}`,
          'at least one value to interpolate from (or options.emptyChannel)',
        );
      }
      for (let t = 0; t < rows; t++) data[t * cols + c] = options.emptyChannel;
    } else {
      const v = data[last * cols + c]!;
      for (let t = last + 1; t < rows; t++) data[t * cols + c] = v;
    }
  }
  return out;
}

export const ChannelNormalizerStateSchema = z.strictObject({
  kind: z.literal('channel-normalizer'),
  version: z.literal(1),
  method: z.enum(['zscore', 'minmax']),
  /** Per channel: the value subtracted (mean or min). */
  center: z.array(z.number().refine(Number.isFinite, 'a finite number')).min(1),
  /** Per channel: the divisor (std or max − min; 1 for a constant channel). */
  scale: z.array(z.number().refine((v) => Number.isFinite(v) && v > 0, 'a finite positive number')).min(1),
});
export type ChannelNormalizerState = z.infer<typeof ChannelNormalizerStateSchema>;

/**
 * Per-channel normalisation fitted on training data: z-score (mean, population std) or min–max
 * to [0, 1]. NaN cells are ignored when fitting and stay NaN. A constant channel gets scale 1.
 * Serialisable with `toJSON` / `ChannelNormalizer.fromJSON` (validated).
 */
export class ChannelNormalizer {
  private constructor(
    readonly method: 'zscore' | 'minmax',
    readonly center: Float64Array,
    readonly scale: Float64Array,
  ) {}

  static fit(series: Matrix, method: 'zscore' | 'minmax' = 'zscore'): ChannelNormalizer {
    if (method !== 'zscore' && method !== 'minmax')
      throw new ValidationError('method', 'zscore or minmax', method);
    const { rows, cols, data } = series;
    if (cols === 0) throw new ValidationError('series.cols', 'at least one channel', cols);
    const center = new Float64Array(cols);
    const scale = new Float64Array(cols);
    for (let c = 0; c < cols; c++) {
      let n = 0;
      let mean = 0;
      let m2 = 0;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let t = 0; t < rows; t++) {
        const v = data[t * cols + c]!;
        if (Number.isNaN(v)) continue;
        if (!Number.isFinite(v)) throw new ValidationError(`series[${t}][${c}]`, 'a finite number or NaN', v);
        n++;
        const d = v - mean;
        mean += d / n;
        m2 += d * (v - mean);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (n === 0) throw new ValidationError(`series channel ${c}`, 'at least one value to fit on');
      if (method === 'zscore') {
        const std = Math.sqrt(m2 / n);
        center[c] = mean;
        scale[c] = std > 0 ? std : 1;
      } else {
        center[c] = lo;
        scale[c] = hi > lo ? hi - lo : 1;
      }
    }
    return new ChannelNormalizer(method, center, scale);
  }

  get channels(): number {
    return this.center.length;
  }

  transform(series: Matrix): Matrix {
    this.checkChannels(series);
    const out = new Matrix(series.rows, series.cols);
    const { cols, data } = series;
    for (let k = 0; k < data.length; k++) {
      const c = k % cols;
      out.data[k] = (data[k]! - this.center[c]!) / this.scale[c]!;
    }
    return out;
  }

  inverseTransform(series: Matrix): Matrix {
    this.checkChannels(series);
    const out = new Matrix(series.rows, series.cols);
    const { cols, data } = series;
    for (let k = 0; k < data.length; k++) {
      const c = k % cols;
      out.data[k] = data[k]! * this.scale[c]! + this.center[c]!;
    }
    return out;
  }

  toJSON(): ChannelNormalizerState {
    return {
      kind: 'channel-normalizer',
      version: 1,
      method: this.method,
      center: Array.from(this.center),
      scale: Array.from(this.scale),
    };
  }

  static fromJSON(input: unknown): ChannelNormalizer {
    const state = parseWith(ChannelNormalizerStateSchema, input, 'normalizer');
    if (state.center.length !== state.scale.length) {
      throw new ValidationError(
        'normalizer.scale',
        `${state.center.length} values (one per channel)`,
        state.scale.length,
      );
    }
    return new ChannelNormalizer(
      state.method,
      Float64Array.from(state.center),
      Float64Array.from(state.scale),
    );
  }

  private checkChannels(series: Matrix): void {
    if (series.cols !== this.channels) {
      throw new ValidationError('series.cols', `${this.channels} channels (as fitted)`, series.cols);
    }
  }
}
