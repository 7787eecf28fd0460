import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Detector, FitOptions } from '../detector';
import { NotFittedError, ValidationError } from '../errors';
import { Matrix } from '../matrix';
import { rocAuc } from '../metrics/ranking';
import { Rng } from '../rng';

export interface ConformanceOptions {
  /** A fresh, unfitted detector whose randomness comes from `seed`. */
  create: (seed: number) => Detector;
  /** Loads a detector saved with `save(dir)`. */
  load: (dir: string) => Promise<Detector>;
  /** Pass 0/1 labels to fit (supervised models such as the energy model). */
  supervised?: boolean;
  /** Extra fit options (e.g. fewer epochs). */
  fitOptions?: Omit<FitOptions, 'y'>;
  /** Data size; small by default to keep suites fast. */
  rows?: number;
  cols?: number;
  /** Minimum ROC-AUC separating the planted anomalies (default 0.9). */
  minAuc?: number;
}

export interface ConformanceCheck {
  name: string;
  run: () => Promise<void>;
}

/** Gaussian normals and far-away anomalies, for checks that need a clear signal. */
export function plantedAnomalies(rows: number, cols: number, seed: number, anomalyFraction = 0.1) {
  const rng = new Rng(seed);
  const X = new Matrix(rows, cols);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const anomalous = rng.random() < anomalyFraction;
    y[i] = anomalous ? 1 : 0;
    for (let j = 0; j < cols; j++) {
      X.data[i * cols + j] = anomalous ? rng.uniform(4, 7) * (rng.random() < 0.5 ? -1 : 1) : rng.normal();
    }
  }
  return { X, y };
}

/**
 * The checks every Detector must pass, framework-free: run each `check.run()` inside a test
 * (e.g. `for (const c of conformanceChecks(o)) it(c.name, c.run)`). Failures throw.
 */
export function conformanceChecks(options: ConformanceOptions): ConformanceCheck[] {
  const rows = options.rows ?? 300;
  const cols = options.cols ?? 5;
  const train = plantedAnomalies(rows, cols, 11, options.supervised ? 0.3 : 0);
  const test = plantedAnomalies(Math.max(100, Math.floor(rows / 2)), cols, 12, 0.2);
  const fit = async (seed: number) => {
    const d = options.create(seed);
    await d.fit(train.X, { ...options.fitOptions, y: options.supervised ? train.y : undefined });
    return d;
  };
  const checks: ConformanceCheck[] = [
    {
      name: 'score returns one finite score per row',
      run: async () => {
        const s = await (await fit(1)).score(test.X);
        assert.ok(s instanceof Float64Array, 'score() must return a Float64Array');
        assert.equal(s.length, test.X.rows);
        assert.ok(s.every(Number.isFinite), 'every score must be finite');
      },
    },
    {
      name: 'higher scores mean more anomalous',
      run: async () => {
        const auc = rocAuc(test.y, await (await fit(1)).score(test.X));
        assert.ok(auc >= (options.minAuc ?? 0.9), `ROC-AUC on planted anomalies is ${auc.toFixed(3)}`);
      },
    },
    {
      name: 'the same seed gives identical scores',
      run: async () => {
        const a = await (await fit(7)).score(test.X);
        const b = await (await fit(7)).score(test.X);
        assert.deepEqual(Array.from(a), Array.from(b));
      },
    },
    {
      name: 'predict gives 0/1 per row after a threshold is set',
      run: async () => {
        const d = await fit(1);
        await d.fitThreshold({ strategy: 'max-f1' }, test.X, { y: test.y, split: 'validation' });
        const p = await d.predict(test.X);
        assert.equal(p.length, test.X.rows);
        assert.ok(p.every((v) => v === 0 || v === 1));
        assert.ok(
          p.some((v) => v === 1) && p.some((v) => v === 0),
          'max-f1 threshold flags some rows and not others',
        );
      },
    },
    {
      name: 'a threshold cannot be fitted on the test split',
      run: async () => {
        const d = await fit(1);
        await assert.rejects(
          d.fitThreshold({ strategy: 'max-f1' }, test.X, { y: test.y, split: 'test' as 'validation' }),
          ValidationError,
        );
      },
    },
    {
      name: 'calibrated probabilities are in [0, 1] and follow the score',
      run: async () => {
        const d = await fit(1);
        await d.calibrate(test.X, test.y, 'platt');
        const p = await d.predictProba(test.X);
        const s = await d.score(test.X);
        assert.ok(p.every((v) => v >= 0 && v <= 1));
        const order = Array.from(s.keys()).sort((a, b) => s[a]! - s[b]!);
        for (let k = 1; k < order.length; k++)
          assert.ok(
            p[order[k]!]! >= p[order[k - 1]!]! - 1e-12,
            'probability must not decrease as the score grows',
          );
      },
    },
    {
      name: 'an artifact round trip gives identical scores, threshold and probabilities',
      run: async () => {
        const d = await fit(3);
        await d.fitThreshold({ strategy: 'max-f1' }, test.X, { y: test.y, split: 'validation' });
        await d.calibrate(test.X, test.y, 'isotonic');
        const dir = await mkdtemp(join(tmpdir(), 'anomalia-conformance-'));
        try {
          await d.save(dir);
          const loaded = await options.load(dir);
          assert.equal(loaded.kind, d.kind);
          assert.deepEqual(loaded.params, d.params);
          assert.deepEqual(Array.from(await loaded.score(test.X)), Array.from(await d.score(test.X)));
          assert.deepEqual(loaded.threshold, d.threshold);
          assert.deepEqual(Array.from(await loaded.predict(test.X)), Array.from(await d.predict(test.X)));
          assert.deepEqual(
            Array.from(await loaded.predictProba(test.X)),
            Array.from(await d.predictProba(test.X)),
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    },
    {
      name: 'a wrong column count is a ValidationError',
      run: async () => {
        const d = await fit(1);
        await assert.rejects(
          d.score(new Matrix(3, cols + 1)),
          (e: unknown) => e instanceof ValidationError && e.field === 'X.cols',
        );
      },
    },
    {
      name: 'NaN input is a ValidationError naming the cell',
      run: async () => {
        const d = await fit(1);
        const X = test.X.clone();
        X.set(2, 1, Number.NaN);
        await assert.rejects(
          d.score(X),
          (e: unknown) => e instanceof ValidationError && e.field === 'X[2][1]',
        );
        const bad = train.X.clone();
        bad.set(0, 0, Number.NaN);
        await assert.rejects(
          options.create(1).fit(bad, { ...options.fitOptions, y: options.supervised ? train.y : undefined }),
          ValidationError,
        );
      },
    },
    {
      name: 'score, predict and save before fit are NotFittedErrors',
      run: async () => {
        const d = options.create(1);
        assert.equal(d.isFitted, false);
        await assert.rejects(d.score(test.X), NotFittedError);
        await assert.rejects(d.predict(test.X), NotFittedError);
        await assert.rejects(d.save(join(tmpdir(), 'anomalia-never-written')), NotFittedError);
      },
    },
  ];
  return checks;
}
