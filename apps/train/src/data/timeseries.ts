import { readFile } from 'node:fs/promises';
import { Matrix, parseCsvTable } from '@anomalia/core';
import { ChannelNormalizer, interpolateGaps, slidingWindows, windowsToMatrix } from '@anomalia/features';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import { contiguousBlocks } from './folds';
import { backwardSteps, readTimeColumn, type TimeColumn } from './time-column';
import type { MatrixData, MatrixPart, MatrixParts } from './types';

type TimeseriesConfig = Extract<TrainConfig['dataset'], { kind: 'timeseries' }>;

interface Series {
  source: string;
  values: Matrix;
  time: TimeColumn;
  labels?: Float64Array;
  /** Points [0, cut) are the training part (assumed normal). */
  cut: number;
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
  const time = readTimeColumn(
    table.rows.map((r) => r[tj]!),
    cfg.timeKind,
    { source: path, column: cfg.timeColumn, kindKey: 'dataset.timeKind' },
  );
  const values = new Matrix(table.rows.length, vj.length);
  table.rows.forEach((r, i) => {
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
  const labels =
    lj < 0
      ? undefined
      : Float64Array.from(table.rows, (r, i) => {
          const cell = r[lj]!.trim();
          const v = cfg.labelMap ? cfg.labelMap[cell] : cell === '' ? Number.NaN : Number(cell);
          if (v !== 0 && v !== 1)
            throw new ConfigError(
              `${path}: line ${i + 2}, column "${cfg.labelColumn}"`,
              `a label 0 (normal) or 1 (anomalous)${cfg.labelMap ? ` after dataset.labelMap (${Object.keys(cfg.labelMap).join(', ')})` : '; use dataset.labelMap for text labels'}, got "${cell}"`,
            );
          return v;
        });
  const cut = Math.floor(table.rows.length * cfg.trainFraction);
  if (cut < cfg.window.size + 10)
    throw new ConfigError(
      'dataset.trainFraction',
      `a training part longer than the window (${cfg.window.size}) plus 10 points in ${path}`,
    );
  return { source: path, values: interpolateGaps(values), time, labels, cut };
}

/** A series normalised per channel on `normalRows` and cut into windows; a window belongs to its last point. */
function windowed(s: Series, cfg: TimeseriesConfig, normalRows: number[]) {
  const { size, stride } = cfg.window;
  const normalizer = ChannelNormalizer.fit(s.values.selectRows(normalRows));
  const windows = slidingWindows(normalizer.transform(s.values), { size, stride });
  const starts = Array.from(windows.starts);
  return { W: windowsToMatrix(windows), starts, ends: starts.map((st) => st + size - 1), normalizer };
}

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

function concat(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** Stacks the per-series parts of a split into one. */
function stack(parts: MatrixParts[]): MatrixParts {
  const join = (get: (p: MatrixParts) => MatrixPart | undefined): MatrixPart | undefined => {
    const list = parts.map(get).filter((p): p is MatrixPart => p !== undefined);
    if (!list.length) return undefined;
    return {
      X: Matrix.vstack(list.map((p) => p.X)),
      y: list.every((p) => p.y) ? concat(list.map((p) => p.y!)) : undefined,
    };
  };
  const normalHoldout = join((p) => p.normalHoldout);
  return {
    train: join((p) => p.train)!,
    calibration: join((p) => p.calibration),
    test: join((p) => p.test)!,
    ...(normalHoldout ? { normalHoldout } : {}),
  };
}

/**
 * Multichannel series to sliding windows. Each file is one series in file order; its time column
 * holds timestamps or an integer sample index (`timeKind`), and backward steps are noted. Each series is normalised per
 * channel on its leading `trainFraction` (assumed normal) and windowed; windows that end inside
 * that part train the model and every later window is tested (a prospective split by
 * construction). With labels, the last 20 % of the training windows set the threshold (normal
 * only); without, 70 % fit, 15 % set the threshold and the last 15 % (no window overlapping the
 * others) are held-out normal data whose alarm rate is measured. A window's label and score belong
 * to its last point, so the evaluation is point-wise over the points that end a window.
 */
export async function prepareTimeseries(
  cfg: TimeseriesConfig,
): Promise<MatrixData & { normalizers: Record<string, unknown> }> {
  const paths = Array.isArray(cfg.path) ? cfg.path : [cfg.path];
  const { size, stride } = cfg.window;
  const series: Series[] = [];
  for (const path of paths) series.push(await readSeries(path, cfg));
  const labelled = series.every((s) => s.labels);
  const normalizers: Record<string, unknown> = {};
  const timeline: Matrix[] = [];
  const timelineT: number[] = [];
  const timelineY: number[] = [];
  const perSeries: MatrixParts[] = [];
  let offset = 0;
  for (const s of series) {
    const { W, ends, starts, normalizer } = windowed(s, cfg, range(0, s.cut));
    normalizers[s.source] = normalizer.toJSON();
    const trainIdx = ends.flatMap((e, w) => (e < s.cut ? [w] : []));
    const testIdx = ends.flatMap((e, w) => (e >= s.cut ? [w] : []));
    const test = {
      X: W.selectRows(testIdx),
      y: s.labels ? Float64Array.from(testIdx, (w) => s.labels![ends[w]!]!) : undefined,
    };
    if (labelled) {
      const nFit = Math.floor(trainIdx.length * 0.8);
      const calibration = trainIdx.slice(nFit);
      perSeries.push({
        train: { X: W.selectRows(trainIdx.slice(0, nFit)) },
        calibration: { X: W.selectRows(calibration), y: new Float64Array(calibration.length) },
        test,
      });
    } else {
      const nFit = Math.floor(trainIdx.length * 0.7);
      const nCal = Math.floor(trainIdx.length * 0.85);
      const calibration = trainIdx.slice(nFit, nCal);
      const lastCalibrated = ends[calibration[calibration.length - 1] ?? trainIdx[nFit - 1]!]!;
      const holdout = trainIdx.slice(nCal).filter((w) => starts[w]! > lastCalibrated);
      perSeries.push({
        train: { X: W.selectRows(trainIdx.slice(0, nFit)) },
        calibration: { X: W.selectRows(calibration), y: new Float64Array(calibration.length) },
        normalHoldout: { X: W.selectRows(holdout), y: new Float64Array(holdout.length) },
        test,
      });
    }
    timeline.push(W);
    ends.forEach((e) => {
      timelineT.push(offset + e);
      timelineY.push(s.labels ? s.labels[e]! : 0);
    });
    offset += s.values.rows;
  }

  /**
   * Fold f holds out the f-th of k contiguous blocks of each series' training part: its windows
   * are held-out normal data; the fold's model is fitted (80 %) and thresholded (last 20 %) on
   * windows wholly outside the block, with channels normalised on the points outside it; windows
   * straddling the block's edges are dropped. Later windows are tested as in the main split.
   */
  const folds = (k: number) => {
    for (const s of series)
      if (Math.floor(s.cut / k) < size + 1)
        throw new ConfigError(
          'evaluation.folds',
          `at most ${Math.floor(s.cut / (size + 1))} for windows of ${size} points in a training part of ${s.cut} points (${s.source})`,
        );
    const foldParts = Array.from({ length: k }, () => [] as MatrixParts[]);
    for (const s of series) {
      contiguousBlocks(s.cut, k).forEach(([a, c], f) => {
        const { W, starts, ends } = windowed(s, cfg, [...range(0, a), ...range(c, s.cut)]);
        const pool: number[] = [];
        const holdout: number[] = [];
        const testIdx: number[] = [];
        ends.forEach((e, w) => {
          const st = starts[w]!;
          if (e >= s.cut) testIdx.push(w);
          else if (st >= a && e < c) holdout.push(w);
          else if (e < a || st >= c) pool.push(w);
        });
        const nFit = Math.floor(pool.length * 0.8);
        foldParts[f]!.push({
          train: { X: W.selectRows(pool.slice(0, nFit)) },
          calibration: { X: W.selectRows(pool.slice(nFit)), y: new Float64Array(pool.length - nFit) },
          normalHoldout: { X: W.selectRows(holdout), y: new Float64Array(holdout.length) },
          test: {
            X: W.selectRows(testIdx),
            y: s.labels ? Float64Array.from(testIdx, (w) => s.labels![ends[w]!]!) : undefined,
          },
        });
      });
    }
    return {
      scheme: `${k} contiguous blocks of each series' training part (the first ${(cfg.trainFraction * 100).toFixed(0)} %): each fold's model is fitted and thresholded on windows wholly outside one block (channels normalised there), the block's windows are its held-out normal data (alarm rate), windows straddling its edges are dropped; the later part is tested in every fold`,
      folds: foldParts.map(stack),
    };
  };

  const kinds = [...new Set(series.map((s) => s.time.kind))];
  const steps = series.flatMap((s) => {
    const lines = backwardSteps(s.time);
    return lines.length
      ? [
          `${s.source}: "${cfg.timeColumn}" steps backwards at line${lines.length > 1 ? 's' : ''} ${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ` and ${lines.length - 5} more` : ''}; the file order is kept as the series order.`,
        ]
      : [];
  });
  return {
    kind: 'matrix',
    featureNames: Array.from(
      { length: size * cfg.valueColumns.length },
      (_, k) =>
        `t${Math.floor(k / cfg.valueColumns.length)}:${cfg.valueColumns[k % cfg.valueColumns.length]}`,
    ),
    graded: false,
    parts: stack(perSeries),
    split: {
      by: 'time',
      description: `the first ${(cfg.trainFraction * 100).toFixed(0)} % of each series trains, the rest is tested`,
    },
    folds,
    timeline: {
      X: Matrix.vstack(timeline),
      t: timelineT,
      axis: 'point (series concatenated)',
      y: labelled ? Float64Array.from(timelineY) : undefined,
    },
    notes: [
      `${paths.length} series ordered by "${cfg.timeColumn}" (${kinds.map((k) => (k === 'index' ? 'an integer index' : 'timestamps')).join(' and ')}), windows of ${size} points (stride ${stride}); the first ${(cfg.trainFraction * 100).toFixed(0)} % of each series (per-channel z-score fitted there) trains the model${labelled ? '' : ', its last windows held out as normal data (alarm rate)'}.`,
      'Point-wise evaluation: each window is scored at its last point.',
      ...steps,
    ],
    normalizers,
  };
}
