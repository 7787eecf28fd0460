import { type Detector, Matrix, NotFittedError, parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import {
  type AttributionMethod,
  AttributionMethodSchema,
  attributeChannels,
  type ChannelAttribution,
  type ChannelAttributionModel,
  type ChannelScore,
  rankChannels,
} from './channel-attribution';
import { type ConditionalInput, ConditionalVAE } from './conditional-vae';
import { seriesWindows, type WindowLayoutInput, WindowLayoutSchema } from './windows';

/** One series (a shot, a machine, a run): rows are time steps, columns the layout's channels. */
export interface SeriesToAnalyse {
  id: string;
  values: Matrix;
  /**
   * For a ConditionalVAE: one row (the series' condition) or one row per time step (a window
   * takes the condition of its last step, the state when it ends).
   */
  conditions?: Matrix;
  /** A label per time step (timestamps, sample numbers), copied into the window reports. */
  times?: ReadonlyArray<string | number>;
}

export const SeriesAnalysisOptionsSchema = z.strictObject({
  /** How the model's windows are laid out (the model was fitted on windows of this layout). */
  layout: WindowLayoutSchema,
  /** Steps between window starts. */
  stride: z.number().int().positive().default(1),
  /** Windows reported per series (the highest scores). */
  topWindows: z.number().int().min(0).default(3),
  /** Channels reported per window. */
  topChannels: z.number().int().positive().default(3),
  attribution: AttributionMethodSchema.default('reconstruction'),
});
export type SeriesAnalysisOptions = z.input<typeof SeriesAnalysisOptionsSchema>;

export interface WindowReport {
  /** Index of the window in its series (0-based, in time order). */
  window: number;
  /** First and last time step (row) of the window, inclusive. */
  start: number;
  end: number;
  startTime?: string | number;
  endTime?: string | number;
  score: number;
  flagged: boolean;
  /** The channels that contributed most to this window's score. */
  channels: ChannelScore[];
}

export interface SeriesReport {
  id: string;
  windows: number;
  flagged: number;
  /** flagged / windows (0 for a series shorter than a window). */
  anomalyRate: number;
  meanScore: number;
  maxScore: number;
  /** Channels ranked over the flagged windows (empty when none is flagged). */
  channels: ChannelScore[];
  /** The windows with the highest scores, highest first. */
  topWindows: WindowReport[];
}

export interface SeriesAnalysis {
  /** The model's threshold the windows were flagged at. */
  threshold: number;
  attribution: AttributionMethod;
  /** By decreasing anomaly rate, then maximum score. */
  series: SeriesReport[];
}

/** A model on flattened windows, or a ConditionalVAE on windows with their conditions. */
export type WindowModel = (Detector<Matrix> & ChannelAttributionModel<Matrix>) | ConditionalVAE;

/**
 * Scores many series with one model: each is cut into windows, every window is scored and
 * flagged at the model's threshold, and each series gets its anomaly rate, the channels behind
 * its flagged windows, and its top windows with their time ranges and top channels.
 */
export async function analyseSeries(
  model: WindowModel,
  series: readonly SeriesToAnalyse[],
  options: SeriesAnalysisOptions,
): Promise<SeriesAnalysis> {
  const o = parseWith(SeriesAnalysisOptionsSchema, options, 'options');
  const threshold = model.threshold;
  if (!threshold)
    throw new NotFittedError(
      model.kind,
      'no threshold: fit the model or call fitThreshold() before analyseSeries()',
    );
  const ids = new Set<string>();
  const reports: SeriesReport[] = [];
  for (const [i, s] of series.entries()) {
    if (ids.has(s.id)) throw new ValidationError(`series[${i}].id`, 'a distinct id', s.id);
    ids.add(s.id);
    if (s.times && s.times.length !== s.values.rows)
      throw new ValidationError(
        `series[${i}].times.length`,
        `one per row (${s.values.rows})`,
        s.times.length,
      );
    const { X, starts } = seriesWindows(s.values, o.layout, o.stride);
    const windows = seriesScorer(model, s, i, X, starts, o.layout.size);
    const all = Int32Array.from({ length: X.rows }, (_, w) => w);
    const scores = X.rows > 0 ? await windows.score(all) : new Float64Array(0);
    const flaggedRows = all.filter((w) => scores[w]! > threshold.value);
    const top = Array.from(all)
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, o.topWindows);
    const topAttribution = top.length > 0 ? await windows.attribute(top, o.layout, o.attribution) : null;
    const flaggedAttribution =
      flaggedRows.length > 0 ? await windows.attribute(flaggedRows, o.layout, o.attribution) : null;
    let sum = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of scores) {
      sum += v;
      if (v > max) max = v;
    }
    reports.push({
      id: s.id,
      windows: X.rows,
      flagged: flaggedRows.length,
      anomalyRate: X.rows > 0 ? flaggedRows.length / X.rows : 0,
      meanScore: X.rows > 0 ? sum / X.rows : Number.NaN,
      maxScore: X.rows > 0 ? max : Number.NaN,
      channels: flaggedAttribution?.ranking ?? [],
      topWindows: top.map((w, k) => {
        const start = starts[w]!;
        const end = start + o.layout.size - 1;
        return {
          window: w,
          start,
          end,
          ...(s.times ? { startTime: s.times[start]!, endTime: s.times[end]! } : {}),
          score: scores[w]!,
          flagged: scores[w]! > threshold.value,
          channels: rankChannels(topAttribution!.perWindow.row(k), o.layout.channels).slice(0, o.topChannels),
        };
      }),
    });
  }
  reports.sort((a, b) => b.anomalyRate - a.anomalyRate || b.maxScore - a.maxScore);
  return { threshold: threshold.value, attribution: o.attribution, series: reports };
}

/** Scores and attributes chosen windows of one series, with their conditions for a ConditionalVAE. */
function seriesScorer(
  model: WindowModel,
  s: SeriesToAnalyse,
  i: number,
  X: Matrix,
  starts: Int32Array,
  size: number,
): {
  score(rows: ArrayLike<number>): Promise<Float64Array>;
  attribute(
    rows: ArrayLike<number>,
    layout: WindowLayoutInput,
    method: AttributionMethod,
  ): Promise<ChannelAttribution>;
} {
  if (!(model instanceof ConditionalVAE)) {
    return {
      score: (rows) => model.score(X.selectRows(rows)),
      attribute: (rows, layout, method) => attributeChannels(model, X.selectRows(rows), layout, method),
    };
  }
  const C = s.conditions;
  if (!C)
    throw new ValidationError(`series[${i}].conditions`, 'a condition matrix (the model is conditional)');
  if (C.rows !== 1 && C.rows !== s.values.rows)
    throw new ValidationError(
      `series[${i}].conditions.rows`,
      `1 or one per time step (${s.values.rows})`,
      C.rows,
    );
  const input = (rows: ArrayLike<number>): ConditionalInput => {
    const conditions = new Matrix(rows.length, C.cols);
    for (let k = 0; k < rows.length; k++) {
      const step = C.rows === 1 ? 0 : starts[rows[k]!]! + size - 1;
      conditions.data.set(C.data.subarray(step * C.cols, (step + 1) * C.cols), k * C.cols);
    }
    return { X: X.selectRows(rows), conditions };
  };
  return {
    score: (rows) => model.score(input(rows)),
    attribute: (rows, layout, method) => attributeChannels(model, input(rows), layout, method),
  };
}
