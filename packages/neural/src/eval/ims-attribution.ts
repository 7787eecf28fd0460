import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Matrix, parseCsvTable, ValidationError } from '@anomalia/core';
import { AutoEncoder } from '../autoencoder';
import {
  attributeChannels,
  type ChannelAttribution,
  type ChannelScore,
  rankChannels,
} from '../channel-attribution';
import { VariationalAutoEncoder } from '../vae';
import { seriesWindows } from '../windows';

/**
 * The protocol of the IMS bearing evidence, fixed before the first run and not tuned since:
 * windows of 12 rows (2 hours of the 10-minute resampled files), stride 1, time-major, the
 * bearing columns as channels, raw values (the model's standard scaler, fitted on the training
 * windows, normalises them); the model is trained on the windows lying entirely in the first
 * half of the run (the early, healthy part); its threshold is the 95th percentile of the
 * training windows' scores (seed 002: contamination 0.05); the late windows are those that
 * start in the last tenth of the run, and the late anomalous windows those of them scoring
 * above the threshold. Channels are ranked by their attribution averaged over the late
 * anomalous windows.
 */
export const IMS_PROTOCOL = {
  windowSize: 12,
  healthyFraction: 0.5,
  lateFraction: 0.1,
  contamination: 0.05,
  /** The VAE's architecture and training, pinned so that the evidence does not move with the defaults. */
  vae: {
    seed: 1,
    epochs: 20,
    encoderLayers: [128, 64],
    decoderLayers: [64, 128],
    latent: 8,
    beta: 1,
    alpha: 0.5,
    validationFraction: 0.1,
  },
} as const;

export interface ImsRun {
  file: string;
  channels: string[];
  /** Timestamps of the rows. */
  times: string[];
  series: Matrix;
}

/** Reads a resampled IMS file: the `Datetime` column and every `Bearing …` column, in file order. */
export async function readImsRun(path: string): Promise<ImsRun> {
  const table = parseCsvTable(await readFile(path, 'utf8'), { source: basename(path) });
  const timeIdx = table.header.indexOf('Datetime');
  const channelIdx = table.header.flatMap((h, j) => (h.startsWith('Bearing') ? [j] : []));
  if (timeIdx < 0 || channelIdx.length === 0)
    throw new ValidationError(
      basename(path),
      'a Datetime column and Bearing columns',
      table.header.join(', '),
    );
  const series = new Matrix(table.rows.length, channelIdx.length);
  for (const [i, row] of table.rows.entries()) {
    for (const [c, j] of channelIdx.entries()) {
      const v = Number(row[j]);
      if (!Number.isFinite(v))
        throw new ValidationError(`${basename(path)}:${i + 2}:${table.header[j]}`, 'a number', row[j]);
      series.data[i * channelIdx.length + c] = v;
    }
  }
  return {
    file: basename(path),
    channels: channelIdx.map((j) => table.header[j]!),
    times: table.rows.map((r) => r[timeIdx]!),
    series,
  };
}

export interface ImsAttribution {
  file: string;
  model: 'vae' | 'ae';
  channels: string[];
  rows: number;
  trainWindows: number;
  /** Time range of the training windows and of the late windows. */
  trainRange: [string, string];
  lateRange: [string, string];
  lateWindows: number;
  lateAnomalous: number;
  threshold: number;
  reconstruction: ChannelAttribution | null;
  gradient: ChannelAttribution | null;
  /**
   * A model-free reference: per channel, the mean over the late anomalous windows of the squared
   * z-score of its values against the healthy part (mean and standard deviation of the rows the
   * model was trained on).
   */
  zScore: ChannelScore[] | null;
}

/** The protocol's model, fitted on the healthy part of a run, with the windows it was applied to. */
export async function fitImsModel(
  run: ImsRun,
  model: 'vae' | 'ae' = 'vae',
  seed: number = IMS_PROTOCOL.vae.seed,
) {
  const p = IMS_PROTOCOL;
  const layout = { size: p.windowSize, channels: run.channels };
  const { X, starts } = seriesWindows(run.series, layout);
  const n = run.series.rows;
  const healthyEnd = Math.floor(n * p.healthyFraction);
  const lateStart = Math.ceil(n * (1 - p.lateFraction));
  const all = Array.from(starts.keys());
  const train = all.filter((w) => starts[w]! + p.windowSize <= healthyEnd);
  const late = all.filter((w) => starts[w]! >= lateStart);
  const detector =
    model === 'vae'
      ? new VariationalAutoEncoder({
          ...p.vae,
          seed,
          encoderLayers: [...p.vae.encoderLayers],
          decoderLayers: [...p.vae.decoderLayers],
          contamination: p.contamination,
        })
      : new AutoEncoder({ seed, contamination: p.contamination });
  await detector.fit(X.selectRows(train));
  return { detector, layout, X, starts, train, late, healthyEnd };
}

/** Per channel (series order), the number of windows in which it has the largest attribution. */
export function firstPlaceCounts(a: ChannelAttribution): number[] {
  const C = a.channels.length;
  const counts = new Array<number>(C).fill(0);
  for (let i = 0; i < a.perWindow.rows; i++) {
    const row = a.perWindow.row(i);
    let best = 0;
    for (let c = 1; c < C; c++) if (row[c]! > row[best]!) best = c;
    counts[best]!++;
  }
  return counts;
}

/**
 * Runs the protocol on one file with the VAE (pinned parameters) or the AutoEncoder (defaults);
 * `seed` other than the protocol's only to check how stable the result is.
 */
export async function imsAttribution(
  path: string,
  model: 'vae' | 'ae' = 'vae',
  seed: number = IMS_PROTOCOL.vae.seed,
): Promise<ImsAttribution> {
  const run = await readImsRun(path);
  const p = IMS_PROTOCOL;
  const { detector, layout, X, starts, train, late, healthyEnd } = await fitImsModel(run, model, seed);
  const n = run.series.rows;
  const threshold = detector.threshold!.value;
  const lateScores = await detector.score(X.selectRows(late));
  const anomalous = late.filter((_, k) => lateScores[k]! > threshold);
  const windows = X.selectRows(anomalous);
  const attribution = async (method: 'reconstruction' | 'gradient') =>
    anomalous.length > 0 ? attributeChannels(detector, windows, layout, method) : null;
  const result: ImsAttribution = {
    file: run.file,
    model,
    channels: run.channels,
    rows: n,
    trainWindows: train.length,
    trainRange: [run.times[starts[train[0]!]!]!, run.times[starts[train.at(-1)!]! + p.windowSize - 1]!],
    lateRange: [run.times[starts[late[0]!]!]!, run.times[n - 1]!],
    lateWindows: late.length,
    lateAnomalous: anomalous.length,
    threshold,
    reconstruction: await attribution('reconstruction'),
    gradient: await attribution('gradient'),
    zScore:
      anomalous.length > 0
        ? zScoreReference(
            run,
            healthyEnd,
            anomalous.map((w) => starts[w]!),
          )
        : null,
  };
  detector.releaseDevice();
  return result;
}

function zScoreReference(run: ImsRun, healthyEnd: number, windowStarts: number[]): ChannelScore[] {
  const C = run.channels.length;
  const size = IMS_PROTOCOL.windowSize;
  const mean = new Float64Array(C);
  const sd = new Float64Array(C);
  for (let t = 0; t < healthyEnd; t++)
    for (let c = 0; c < C; c++) mean[c]! += run.series.get(t, c) / healthyEnd;
  for (let t = 0; t < healthyEnd; t++)
    for (let c = 0; c < C; c++) sd[c]! += (run.series.get(t, c) - mean[c]!) ** 2 / healthyEnd;
  const value = new Float64Array(C);
  for (const start of windowStarts)
    for (let t = start; t < start + size; t++)
      for (let c = 0; c < C; c++)
        value[c]! +=
          (run.series.get(t, c) - mean[c]!) ** 2 / Math.max(sd[c]!, 1e-24) / (windowStarts.length * size);
  return rankChannels(value, run.channels);
}
