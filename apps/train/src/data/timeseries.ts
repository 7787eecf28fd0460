import { readFile } from 'node:fs/promises';
import { Matrix, parseCsvTable } from '@anomalia/core';
import { ChannelNormalizer, interpolateGaps, slidingWindows, windowsToMatrix } from '@anomalia/features';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import { parseTimestamp } from './time';
import type { MatrixData, MatrixPart } from './types';

type TimeseriesConfig = Extract<TrainConfig['dataset'], { kind: 'timeseries' }>;

interface Series {
  source: string;
  values: Matrix;
  times: number[];
  labels?: Float64Array;
}

async function readSeries(path: string, cfg: TimeseriesConfig): Promise<Series> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('dataset.path', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const table = parseCsvTable(text, { source: path });
  const col = (name: string, key: string) => {
    const j = table.header.indexOf(name);
    if (j < 0) throw new ConfigError(key, `a column of ${path} (${table.header.join(', ')}), got "${name}"`);
    return j;
  };
  const tj = col(cfg.timeColumn, 'dataset.timeColumn');
  const vj = cfg.valueColumns.map((c) => col(c, 'dataset.valueColumns'));
  const lj = cfg.labelColumn === undefined ? -1 : col(cfg.labelColumn, 'dataset.labelColumn');
  const values = new Matrix(table.rows.length, vj.length);
  const times: number[] = [];
  table.rows.forEach((r, i) => {
    const t = parseTimestamp(r[tj]!);
    if (Number.isNaN(t))
      throw new ConfigError(
        `${path}: line ${i + 2}, column "${cfg.timeColumn}"`,
        `a timestamp, got "${r[tj]}"`,
      );
    times.push(t);
    vj.forEach((j, c) => {
      const cell = r[j]!.trim();
      values.data[i * vj.length + c] = cell === '' ? Number.NaN : Number(cell);
      if (cell !== '' && Number.isNaN(Number(cell)))
        throw new ConfigError(
          `${path}: line ${i + 2}, column "${table.header[j]}"`,
          `a number, got "${cell}"`,
        );
    });
  });
  const labels = lj < 0 ? undefined : Float64Array.from(table.rows, (r) => Number(r[lj]));
  return { source: path, values: interpolateGaps(values), times, labels };
}

/**
 * Multichannel series to sliding windows. Each series is normalised per channel on its leading
 * `trainFraction` (assumed normal) and windowed; windows that end inside that part train the
 * model (their last 20 % calibrate the threshold, normal only) and every later window is tested.
 * A window's label and score belong to its last point, so the evaluation is point-wise over the
 * points that end a window.
 */
export async function prepareTimeseries(
  cfg: TimeseriesConfig,
): Promise<MatrixData & { normalizers: Record<string, unknown> }> {
  const paths = Array.isArray(cfg.path) ? cfg.path : [cfg.path];
  const { size, stride } = cfg.window;
  const train: Matrix[] = [];
  const calibration: Matrix[] = [];
  const test: MatrixPart[] = [];
  const timeline: Matrix[] = [];
  const timelineT: number[] = [];
  const timelineY: number[] = [];
  const normalizers: Record<string, unknown> = {};
  let offset = 0;
  for (const path of paths) {
    const s = await readSeries(path, cfg);
    const cut = Math.floor(s.values.rows * cfg.trainFraction);
    if (cut < size + 10)
      throw new ConfigError(
        'dataset.trainFraction',
        `a training part longer than the window (${size}) plus 10 points in ${path}`,
      );
    const normalizer = ChannelNormalizer.fit(s.values.selectRows(Array.from({ length: cut }, (_, i) => i)));
    normalizers[path] = normalizer.toJSON();
    const windows = slidingWindows(normalizer.transform(s.values), { size, stride });
    const W = windowsToMatrix(windows);
    const ends = Array.from(windows.starts, (st) => st + size - 1);
    const trainIdx = ends.flatMap((e, w) => (e < cut ? [w] : []));
    const testIdx = ends.flatMap((e, w) => (e >= cut ? [w] : []));
    const nFit = Math.floor(trainIdx.length * 0.8);
    train.push(W.selectRows(trainIdx.slice(0, nFit)));
    calibration.push(W.selectRows(trainIdx.slice(nFit)));
    test.push({
      X: W.selectRows(testIdx),
      y: s.labels ? Float64Array.from(testIdx, (w) => s.labels![ends[w]!]!) : undefined,
    });
    timeline.push(W);
    ends.forEach((e, w) => {
      timelineT.push(offset + e);
      timelineY.push(s.labels ? s.labels[ends[w]!]! : 0);
    });
    offset += s.values.rows;
  }
  const labelled = test.every((p) => p.y);
  const cal = Matrix.vstack(calibration);
  return {
    kind: 'matrix',
    featureNames: Array.from(
      { length: size * cfg.valueColumns.length },
      (_, k) =>
        `t${Math.floor(k / cfg.valueColumns.length)}:${cfg.valueColumns[k % cfg.valueColumns.length]}`,
    ),
    graded: false,
    parts: {
      train: { X: Matrix.vstack(train) },
      calibration: { X: cal, y: new Float64Array(cal.rows) },
      test: {
        X: Matrix.vstack(test.map((p) => p.X)),
        y: labelled ? concat(test.map((p) => p.y!)) : undefined,
      },
    },
    timeline: {
      X: Matrix.vstack(timeline),
      t: timelineT,
      axis: 'point (series concatenated)',
      y: labelled ? Float64Array.from(timelineY) : undefined,
    },
    notes: [
      `${paths.length} series, windows of ${size} points (stride ${stride}); the first ${(cfg.trainFraction * 100).toFixed(0)} % of each series (per-channel z-score fitted there) trains the model.`,
      'Point-wise evaluation: each window is scored at its last point.',
    ],
    normalizers,
  };
}

function concat(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}
