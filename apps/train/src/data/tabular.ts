import { readFile } from 'node:fs/promises';
import {
  type CsvTable,
  csvTableToDataset,
  loadIndexSplits,
  type Matrix,
  parseCsvTable,
  stratifiedSplit,
} from '@anomalia/core';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import { parseTimestamp } from './time';
import type { MatrixData, MatrixPart } from './types';

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
    const trainY = Float64Array.from(s.train, (i) => y[i]!);
    const sub = stratifiedSplit(trainY, { rest: 0.7, validation: 0.15, calibration: 0.15 }, seed);
    const pick = (k: Int32Array) => Int32Array.from(k, (j) => s.train[j]!);
    notes.push(
      `Index split "${cfg.indexSplits.key}" from ${cfg.indexSplits.path}: fitted on all ${s.train.length} train rows (labels unused); threshold and calibration on labelled subsets of them.`,
    );
    return {
      kind: 'matrix',
      featureNames: ds.featureNames,
      graded: false,
      parts: {
        train: part(X, y, s.train),
        validation: part(X, y, pick(sub.validation)),
        calibration: part(X, y, pick(sub.calibration)),
        test: part(X, y, s.test),
      },
      notes,
    };
  }

  if (cfg.baseline) {
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
    const nTrain = Math.floor(n * 0.8);
    const later = range(n, X.rows);
    const laterY = y ? Float64Array.from(later, (i) => y[i]!) : undefined;
    const timeline = { X, t: range(0, X.rows), axis: 'row (time order)', y };
    if (laterY?.some((v) => v === 1) && laterY.some((v) => v === 0)) {
      // Labels after the baseline: a stratified share of them chooses the threshold and calibrates.
      const s = stratifiedSplit(laterY, { validation: 0.15, calibration: 0.15, test: 0.7 }, seed);
      const pick = (k: Int32Array) => Int32Array.from(k, (j) => later[j]!);
      notes.push(
        `Baseline: the first ${n} rows are taken as normal and train the model; the ${later.length} later rows are split (stratified) 15 / 15 / 70 % into validation (threshold), calibration and test.`,
      );
      return {
        kind: 'matrix',
        featureNames: ds.featureNames,
        graded: false,
        parts: {
          train: part(X, y, range(0, n)),
          validation: part(X, y, pick(s.validation)),
          calibration: part(X, y, pick(s.calibration)),
          test: part(X, y, pick(s.test)),
        },
        timeline,
        notes,
      };
    }
    notes.push(
      `Baseline: the first ${n} rows are taken as normal; ${nTrain} train the model, ${n - nTrain} calibrate the threshold (normal only); rows ${n}–${X.rows - 1} are tested.`,
    );
    return {
      kind: 'matrix',
      featureNames: ds.featureNames,
      graded: false,
      parts: {
        train: part(X, y, range(0, nTrain)),
        calibration: part(X, new Float64Array(X.rows), range(nTrain, n)),
        test: part(X, y, later),
      },
      timeline,
      notes,
    };
  }

  if (!y)
    throw new ConfigError(
      'dataset',
      'either labelColumn (for a stratified split), a baseline, or indexSplits',
    );
  const s = stratifiedSplit(y, cfg.split, seed);
  return {
    kind: 'matrix',
    featureNames: ds.featureNames,
    graded: false,
    parts: {
      train: part(X, y, s.train),
      validation: part(X, y, s.validation),
      calibration: part(X, y, s.calibration),
      test: part(X, y, s.test),
    },
    notes,
  };
}
