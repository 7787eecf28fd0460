import { type Matrix, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { parseWindowLayout, sumOverTime, type WindowLayoutInput } from './windows';

/**
 * How a channel's part in a window's anomaly score is measured:
 * - `reconstruction`: Σ over the window's time steps of the channel's squared reconstruction
 *   error (the model's scaled units): which channel the model could not reproduce.
 * - `gradient`: Σ over time steps of |∂score/∂x · x| (gradient × input), x in the model's scaled
 *   units, i.e. the deviation from the training mean: a first-order share of the whole score
 *   (latent term included) relative to an average normal window.
 */
export const AttributionMethodSchema = z.enum(['reconstruction', 'gradient']);
export type AttributionMethod = z.infer<typeof AttributionMethodSchema>;

/**
 * What attribution needs from a model on windows: the AutoEncoder, the VariationalAutoEncoder
 * (on `Matrix`) and the ConditionalVAE (on `ConditionalInput`) all provide it.
 */
export interface ChannelAttributionModel<Input> {
  /** Squared reconstruction error per row and feature. */
  reconstructionErrors(X: Input): Promise<Matrix>;
  /** Per-row gradient saliency of the score (× input with `timesInput`). */
  featureImportance(X: Input, options: { timesInput?: boolean }): Promise<{ perRow: Matrix }>;
}

export interface ChannelScore {
  channel: string;
  /** Column of the channel in the series. */
  index: number;
  value: number;
  /** value / the sum over channels (0 when every value is 0). */
  share: number;
}

export interface ChannelAttribution {
  method: AttributionMethod;
  channels: readonly string[];
  /** windows × channels. */
  perWindow: Matrix;
  /** Per channel (series order): the mean over the windows. */
  mean: Float64Array;
  /** Channels by decreasing mean value (ties: series order). */
  ranking: ChannelScore[];
}

/** Channels of one row of values, by decreasing value (ties: series order). */
export function rankChannels(values: ArrayLike<number>, channels: readonly string[]): ChannelScore[] {
  let total = 0;
  for (let c = 0; c < channels.length; c++) total += values[c]!;
  return channels
    .map((channel, index) => ({
      channel,
      index,
      value: values[index]!,
      share: total > 0 ? values[index]! / total : 0,
    }))
    .sort((a, b) => b.value - a.value || a.index - b.index);
}

/**
 * The contribution of each channel to the anomaly score of windows (flattened as `layout`
 * says), per window and averaged over them, ranked: "which sensor is misbehaving".
 */
export async function attributeChannels<Input>(
  model: ChannelAttributionModel<Input>,
  windows: Input,
  layout: WindowLayoutInput,
  method: AttributionMethod = 'reconstruction',
): Promise<ChannelAttribution> {
  const l = parseWindowLayout(layout);
  if (method !== 'reconstruction' && method !== 'gradient')
    throw new ValidationError('method', 'reconstruction or gradient', method);
  const perFeature =
    method === 'reconstruction'
      ? await model.reconstructionErrors(windows)
      : (await model.featureImportance(windows, { timesInput: true })).perRow;
  const perWindow = sumOverTime(perFeature, l);
  const C = l.channels.length;
  const mean = new Float64Array(C);
  for (let i = 0; i < perWindow.rows; i++)
    for (let c = 0; c < C; c++) mean[c]! += perWindow.data[i * C + c]! / perWindow.rows;
  return { method, channels: l.channels, perWindow, mean, ranking: rankChannels(mean, l.channels) };
}
