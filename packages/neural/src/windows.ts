import { Matrix, parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';

/**
 * How a window of `size` time steps × `channels` is flattened into one row of features:
 * `time-major` puts step t, channel c at t·channels + c (the layout of `@anomalia/features`'
 * `windowsToMatrix(slidingWindows(…))`: each step's channels together); `channel-major` at
 * c·size + t (each channel's trace together).
 */
export const WindowLayoutSchema = z.strictObject({
  /** Time steps per window. */
  size: z.number().int().positive(),
  /** Channel names, in column order of the series. */
  channels: z.array(z.string().min(1)).min(1),
  order: z.enum(['time-major', 'channel-major']).default('time-major'),
});
export type WindowLayout = z.output<typeof WindowLayoutSchema>;
export type WindowLayoutInput = z.input<typeof WindowLayoutSchema>;

/** A validated layout (names must be distinct: they identify the sensor in every report). */
export function parseWindowLayout(layout: WindowLayoutInput, root = 'layout'): WindowLayout {
  const parsed = parseWith(WindowLayoutSchema, layout, root);
  if (new Set(parsed.channels).size !== parsed.channels.length)
    throw new ValidationError(`${root}.channels`, 'distinct channel names', parsed.channels.join(', '));
  return parsed;
}

/** Feature index of time step t, channel c in a flattened window. */
export function featureIndex(layout: WindowLayout, t: number, c: number): number {
  return layout.order === 'time-major' ? t * layout.channels.length + c : c * layout.size + t;
}

/** Channel of feature j in a flattened window. */
export function channelOfFeature(layout: WindowLayout, j: number): number {
  return layout.order === 'time-major' ? j % layout.channels.length : Math.floor(j / layout.size);
}

/**
 * Sliding windows of a series (rows = time steps, columns = channels), `stride` steps apart,
 * one flattened window per row in the layout's order; `starts` holds each window's first row.
 * A series shorter than a window has none.
 */
export function seriesWindows(
  series: Matrix,
  layout: WindowLayoutInput,
  stride = 1,
): { X: Matrix; starts: Int32Array } {
  const l = parseWindowLayout(layout);
  const C = l.channels.length;
  if (series.cols !== C)
    throw new ValidationError('series.cols', `${C} channels (${l.channels.join(', ')})`, series.cols);
  if (!Number.isInteger(stride) || stride < 1)
    throw new ValidationError('stride', 'a positive integer', stride);
  const T = l.size;
  const count = series.rows < T ? 0 : Math.floor((series.rows - T) / stride) + 1;
  const X = new Matrix(count, T * C);
  const starts = new Int32Array(count);
  for (let w = 0; w < count; w++) {
    const start = w * stride;
    starts[w] = start;
    const row = w * T * C;
    if (l.order === 'time-major') {
      X.data.set(series.data.subarray(start * C, (start + T) * C), row);
    } else {
      for (let t = 0; t < T; t++)
        for (let c = 0; c < C; c++) X.data[row + c * T + t] = series.data[(start + t) * C + c]!;
    }
  }
  return { X, starts };
}

/** Sums per-feature values (rows × size·channels) over the time steps of each channel: rows × channels. */
export function sumOverTime(perFeature: Matrix, layout: WindowLayout): Matrix {
  const C = layout.channels.length;
  const width = layout.size * C;
  if (perFeature.cols !== width)
    throw new ValidationError(
      'layout',
      `size × channels = ${layout.size} × ${C} = the model's ${perFeature.cols} inputs`,
      width,
    );
  const out = new Matrix(perFeature.rows, C);
  for (let i = 0; i < perFeature.rows; i++)
    for (let j = 0; j < width; j++)
      out.data[i * C + channelOfFeature(layout, j)]! += perFeature.data[i * width + j]!;
  return out;
}
