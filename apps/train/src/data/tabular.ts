import { readFile } from 'node:fs/promises';
import {
  type CsvTable,
  csvTableToDataset,
  loadIndexSplits,
  type Matrix,
  parseCsvTable,
  stratifiedKFold,
  stratifiedSplit,
} from '@anomalia/core';
import { ConfigError } from '../config/load';
import { fractionsOf, type TrainConfig } from '../config/schema';
import { contiguousBlocks, pooledFolds, type SplitIndices, timeSplit } from './folds';
import { parseTimestamp } from './time';
import { readTimeColumn } from './time-column';
import type { MatrixData, MatrixPart, MatrixParts } from './types';

type TabularConfig = Extract<TrainConfig['dataset'], { kind: 'tabular' }>;

/** Reads one or more CSV files with the same header, in the given (time) order. */
async function readTables(paths: string[]): Promise<CsvTable> {
  const tables: CsvTable[] = [];
  for (const p of paths) {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      throw new ConfigError('dataset.path', `cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    tables.push(parseCsvTable(text, { source: p }));
  }
  const header = tables[0]!.header;
  tables.forEach((t, i) => {
    if (t.header.join(',') !== header.join(','))
      throw new ConfigError(`dataset.path[${i}]`, `the same columns as ${paths[0]}`);
  });
  return { header, rows: tables.flatMap((t) => t.rows) };
}

const part = (X: Matrix, y: Float64Array | undefined, idx: ArrayLike<number>): MatrixPart => ({
  X: X.selectRows(idx),
  y: y ? Float64Array.from(idx, (i) => y[i]!) : undefined,
});

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/**
 * Tabular data (CSV, IMS style). Three layouts:
 * - `indexSplits` (ADBench): fit on the whole train part; labelled subsets of it choose the
 *   threshold and calibrate; the split's test part is the test set.
 * - `baseline` (first rows, a fraction or a time cut): rows known to be normal train the model
 *   (the last 20 % of them are held out as a normal-only calibration split); every later row is
 *   tested, and the whole series is scored for the timeline.
 * - otherwise, with labels: a stratified train / validation / calibration / test split.
 */
export async function prepareTabular(cfg: TabularConfig, seed: number): Promise<MatrixData> {
  const paths = Array.isArray(cfg.path) ? cfg.path : [cfg.path];
  const table = await readTables(paths);
  const ds = csvTableToDataset(table, {
    labelColumn: cfg.labelColumn,
    labelMap: cfg.labelMap,
    featureColumns: cfg.featureColumns,
    dropColumns: cfg.dropColumns,
    source: paths.join(' + '),
  });
  const { X, y } = ds;
  if (y?.some((v) => v !== 0 && v !== 1))
    throw new ConfigError(
      'dataset.labelColumn',
      'labels 0 (normal) or 1 (anomalous); use labelMap for text labels',
    );
  const notes = [`${X.rows} rows × ${X.cols} features from ${paths.length} file(s).`];

  if (cfg.indexSplits) {
    const splits = await loadIndexSplits(cfg.indexSplits.path, X.rows);
    const s = splits[cfg.indexSplits.key];
    if (!s) throw new ConfigError('dataset.indexSplits.key', `one of ${Object.keys(splits).join(', ')}`);
    if (!y) throw new ConfigError('dataset.labelColumn', 'a label column, needed to evaluate index splits');
    notSplitByTime(cfg, 'indexSplits (the index file fixes the test rows)');
    // Fitted on every train row (labels unused); labelled subsets of them choose the threshold and calibrate.
    const indexParts = (train: Int32Array, test: Int32Array, subSeed: number): MatrixParts => {
      const trainY = Float64Array.from(train, (i) => y[i]!);
      const sub = stratifiedSplit(trainY, { rest: 0.7, validation: 0.15, calibration: 0.15 }, subSeed);
      const pick = (k: Int32Array) => Int32Array.from(k, (j) => train[j]!);
      return {
        train: part(X, y, train),
        validation: part(X, y, pick(sub.validation)),
        calibration: part(X, y, pick(sub.calibration)),
        test: part(X, y, test),
      };
    };
    notes.push(
      `Index split "${cfg.indexSplits.key}" from ${cfg.indexSplits.path}: fitted on all ${s.train.length} train rows (labels unused); threshold and calibration on labelled subsets of them.`,
    );
    return {
      kind: 'matrix',
      featureNames: ds.featureNames,
      graded: false,
      parts: indexParts(s.train, s.test, seed),
      split: { by: 'random', description: `the index file's split "${cfg.indexSplits.key}"` },
      folds: (k) => ({
        scheme: `${k} folds of all ${X.rows} rows stratified by label; as in the index split, each fold's model is fitted on every other row (labels unused) and labelled subsets of them choose the threshold and calibrate`,
        folds: stratifiedKFold(y, k, seed).map((f, i) => indexParts(f.train, f.test, seed + i + 1)),
      }),
      notes,
    };
  }

  if (cfg.baseline) {
    notSplitByTime(cfg, 'a baseline (the baseline rows are the oldest: the split is prospective already)');
    const b = cfg.baseline;
    let n: number;
    if ('firstRows' in b) n = b.firstRows;
    else if ('fraction' in b) n = Math.floor(b.fraction * X.rows);
    else {
      const col = table.header.indexOf(b.timeColumn);
      if (col < 0)
        throw new ConfigError(
          'dataset.baseline.timeColumn',
          `a column of the CSV (${table.header.join(', ')})`,
        );
      const cut = parseTimestamp(b.before);
      if (Number.isNaN(cut))
        throw new ConfigError(
          'dataset.baseline.before',
          `a timestamp (ISO, "YYYY.MM.DD.hh.mm.ss" or "DD-MM-YYYY hh:mm"), got "${b.before}"`,
        );
      n = table.rows.findIndex((r, i) => {
        const t = parseTimestamp(r[col]!);
        if (Number.isNaN(t))
          throw new ConfigError(
            `dataset.baseline.timeColumn (line ${i + 2})`,
            `a timestamp, got "${r[col]}"`,
          );
        return t >= cut;
      });
      if (n < 0) n = X.rows;
    }
    if (n < 10 || n >= X.rows)
      throw new ConfigError(
        'dataset.baseline',
        `a baseline of at least 10 rows that leaves rows to test (got ${n} of ${X.rows})`,
      );
    const later = range(n, X.rows);
    const laterY = y ? Float64Array.from(later, (i) => y[i]!) : undefined;
    const timeline = { X, t: range(0, X.rows), axis: 'row (time order)', y };
    const normal = new Float64Array(X.rows);
    const split = {
      by: 'time' as const,
      description: `the first ${n} rows are the baseline (trained on), later rows are tested`,
    };
    /**
     * Folds of the baseline: k contiguous blocks; each fold's model trains on the other blocks and
     * block f is its held-out normal data (its alarm rate is measured); the rest is as in the main split.
     */
    const baselineFolds = (k: number, rest: (train: number[]) => Omit<MatrixParts, 'train'>) => {
      if (Math.floor(n / k) < 5)
        throw new ConfigError('evaluation.folds', `at most ${Math.floor(n / 5)} for a baseline of ${n} rows`);
      return {
        scheme: `${k} contiguous blocks of the ${n} baseline rows: each fold's model trains without one block, which is its held-out normal data (alarm rate); the later rows are evaluated as in the main split`,
        folds: contiguousBlocks(n, k).map(([a, c]) => {
          const kept = [...range(0, a), ...range(c, n)];
          return { ...rest(kept), normalHoldout: part(X, normal, range(a, c)) } as MatrixParts;
        }),
      };
    };
    if (laterY?.some((v) => v === 1) && laterY.some((v) => v === 0)) {
      // Labels after the baseline: a stratified share of them chooses the threshold and calibrates.
      const s = stratifiedSplit(laterY, { validation: 0.15, calibration: 0.15, test: 0.7 }, seed);
      const pick = (k: Int32Array) => Int32Array.from(k, (j) => later[j]!);
      const evaluated = {
        validation: part(X, y, pick(s.validation)),
        calibration: part(X, y, pick(s.calibration)),
        test: part(X, y, pick(s.test)),
      };
      notes.push(
        `Baseline: the first ${n} rows are taken as normal and train the model; the ${later.length} later rows are split (stratified) 15 / 15 / 70 % into validation (threshold), calibration and test.`,
      );
      return {
        kind: 'matrix',
        featureNames: ds.featureNames,
        graded: false,
        parts: { train: part(X, y, range(0, n)), ...evaluated },
        split,
        folds: (k) => baselineFolds(k, (train) => ({ train: part(X, y, train), ...evaluated })),
        timeline,
        notes,
      };
    }
    // No labels after the baseline: 70 % of it trains, 15 % sets the threshold, and the last 15 %
    // is held-out normal data whose alarm rate the unsupervised gate checks.
    const nTrain = Math.floor(n * 0.7);
    const nCalibration = Math.floor(n * 0.85);
    notes.push(
      `Baseline: the first ${n} rows are taken as normal; ${nTrain} train the model, ${nCalibration - nTrain} calibrate the threshold, ${n - nCalibration} are held out (alarm rate on normal data); rows ${n}–${X.rows - 1} are tested.`,
    );
    return {
      kind: 'matrix',
      featureNames: ds.featureNames,
      graded: false,
      parts: {
        train: part(X, y, range(0, nTrain)),
        calibration: part(X, normal, range(nTrain, nCalibration)),
        normalHoldout: part(X, normal, range(nCalibration, n)),
        test: part(X, y, later),
      },
      split,
      folds: (k) =>
        baselineFolds(k, (kept) => {
          const fit = Math.floor(kept.length * 0.8);
          return {
            train: part(X, y, kept.slice(0, fit)),
            calibration: part(X, normal, kept.slice(fit)),
            test: part(X, y, later),
          };
        }),
      timeline,
      notes,
    };
  }

  if (!y)
    throw new ConfigError(
      'dataset',
      'either labelColumn (for a stratified split), a baseline, or indexSplits',
    );
  const labels = y;
  const fractions = fractionsOf(cfg.split);
  const partsOf = (s: SplitIndices): MatrixParts => ({
    train: part(X, labels, s.train),
    validation: part(X, labels, s.validation),
    calibration: part(X, labels, s.calibration),
    test: part(X, labels, s.test),
  });
  const randomSplit = () => stratifiedSplit(labels, fractions, seed);
  const folds = (k: number) => ({
    scheme: `${k} folds stratified by label; the other folds are split into train / validation / calibration`,
    folds: pooledFolds(labels, k, seed, fractions).map(partsOf),
  });
  if (cfg.split.by === 'random')
    return {
      kind: 'matrix',
      featureNames: ds.featureNames,
      graded: false,
      parts: partsOf(randomSplit()),
      split: { by: 'random', description: 'stratified by label' },
      folds,
      notes,
    };
  const column = cfg.split.timeColumn;
  let times: Float64Array;
  if (column === undefined) times = Float64Array.from(range(0, X.rows));
  else {
    const j = table.header.indexOf(column);
    if (j < 0)
      throw new ConfigError(
        'dataset.split.timeColumn',
        `a column of the CSV (${table.header.join(', ')}), got "${column}"`,
      );
    times = readTimeColumn(
      table.rows.map((r) => r[j]!),
      cfg.split.timeKind,
      { source: paths.join(' + '), column, kindKey: 'dataset.split.timeKind' },
    ).t;
  }
  const timed = timeSplit(times, labels, fractions, seed);
  return {
    kind: 'matrix',
    featureNames: ds.featureNames,
    graded: false,
    parts: partsOf(timed),
    split: {
      by: 'time',
      description: `the ${timed.test.length} most recent rows (by ${column === undefined ? 'file order' : `"${column}"`}) are the test split; the older ones are split stratified by label into train / validation / calibration`,
    },
    folds,
    views: [
      {
        name: 'random split',
        description: 'the same rows split at random, stratified by label',
        parts: partsOf(randomSplit()),
      },
    ],
    notes,
  };
}

/** Layouts whose split is fixed by the data refuse `split.by: time` rather than ignore it. */
function notSplitByTime(cfg: TabularConfig, layout: string): void {
  if (cfg.split.by === 'time') throw new ConfigError('dataset.split.by', `random with ${layout}`);
}
