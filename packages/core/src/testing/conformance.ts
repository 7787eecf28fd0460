import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Detector, FitOptions } from '../detector';
import { NotFittedError, ValidationError } from '../errors';
import { Matrix } from '../matrix';
import { rocAuc } from '../metrics/ranking';
import { Rng } from '../rng';

/** Labelled input for the conformance checks, in the detector's own input type. */
export interface ConformanceData<Input> {
  /** Training input with 0/1 labels (a supervised detector fits on them; others ignore them). */
  train: { X: Input; y: Float64Array };
  /** Held-out input with planted anomalies: 0/1 labels, both classes. */
  test: { X: Input; y: Float64Array };
  /** Inputs `score` must refuse with a ValidationError whose field is `field`. */
  invalid: Array<{ name: string; X: Input; field: string }>;
  /** Training input `fit` must refuse with a ValidationError (e.g. a NaN cell). */
  invalidFit?: Input;
}

export interface ConformanceOptions<Input = Matrix> {
  /** A fresh, unfitted detector whose randomness comes from `seed`. */
  create: (seed: number) => Detector<Input>;
  /** Loads a detector saved with `save(dir)`. */
  load: (dir: string) => Promise<Detector<Input>>;
  /** Pass the 0/1 training labels to fit (supervised models such as the energy model). */
  supervised?: boolean;
  /** Extra fit options (e.g. fewer epochs). */
  fitOptions?: Omit<FitOptions<Input>, 'y'>;
  /** The data; matrix detectors get planted Gaussian anomalies by default (see `rows`, `cols`). */
  data?: ConformanceData<Input>;
  /** Size of the default matrix data; small by default to keep suites fast. */
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

/** The default data of matrix detectors: planted anomalies, a wrong column count and NaN cells. */
export function matrixConformanceData(
  rows: number,
  cols: number,
  supervised = false,
): ConformanceData<Matrix> {
  const train = plantedAnomalies(rows, cols, 11, supervised ? 0.3 : 0);
  const test = plantedAnomalies(Math.max(100, Math.floor(rows / 2)), cols, 12, 0.2);
  const withNaN = test.X.clone();
  withNaN.set(2, 1, Number.NaN);
  const badTrain = train.X.clone();
  badTrain.set(0, 0, Number.NaN);
  return {
    train,
    test,
    invalid: [
      { name: 'a wrong column count', X: new Matrix(3, cols + 1), field: 'X.cols' },
      { name: 'NaN input', X: withNaN, field: 'X[2][1]' },
    ],
    invalidFit: badTrain,
  };
}

/**
 * The checks every Detector must pass, framework-free: run each `check.run()` inside a test
 * (e.g. `for (const c of conformanceChecks(o)) it(c.name, c.run)`). Failures throw. Matrix
 * detectors get default data; detectors on other inputs (sequences) pass `data`.
 */
export function conformanceChecks(options: ConformanceOptions<Matrix>): ConformanceCheck[];
export function conformanceChecks<Input>(
  options: ConformanceOptions<Input> & { data: ConformanceData<Input> },
): ConformanceCheck[];
export function conformanceChecks<Input>(options: ConformanceOptions<Input>): ConformanceCheck[] {
  const data =
    options.data ??
    (matrixConformanceData(
      options.rows ?? 300,
      options.cols ?? 5,
      options.supervised,
    ) as unknown as ConformanceData<Input>);
  const { train, test } = data;
  const rows = test.y.length;
  const fitOptions = (): FitOptions<Input> => ({
    ...options.fitOptions,
    y: options.supervised ? train.y : undefined,
  });
  const fit = async (seed: number) => {
    const d = options.create(seed);
    await d.fit(train.X, fitOptions());
    return d;
  };
  const checks: ConformanceCheck[] = [
    {
      name: 'score returns one finite score per row',
      run: async () => {
        const s = await (await fit(1)).score(test.X);
        assert.ok(s instanceof Float64Array, 'score() must return a Float64Array');
        assert.equal(s.length, rows);
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
      name: 'fit sets the default threshold (training scores or a native cut-off) and drops older decisions',
      run: async () => {
        const d = await fit(1);
        const initial = d.threshold;
        if (initial) {
          const fromTraining = initial.strategy.strategy === 'contamination' && initial.split === 'train';
          const native = initial.strategy.strategy === 'fixed' && initial.split === 'none';
          assert.ok(fromTraining || native, `unexpected default threshold ${JSON.stringify(initial)}`);
        }
        assert.equal(d.calibrator, null, 'fit leaves no calibrator');
        await d.fitThreshold({ strategy: 'max-f1' }, test.X, { y: test.y, split: 'validation' });
        await d.calibrate(test.X, test.y, 'platt');
        await d.fit(train.X, fitOptions());
        assert.deepEqual(d.threshold, initial, 'a new fit replaces a chosen threshold by the default one');
        assert.equal(d.calibrator, null, 'a new fit drops the calibrator');
      },
    },
    {
      name: 'predict gives 0/1 per row after a threshold is set',
      run: async () => {
        const d = await fit(1);
        await d.fitThreshold({ strategy: 'max-f1' }, test.X, { y: test.y, split: 'validation' });
        const p = await d.predict(test.X);
        assert.equal(p.length, rows);
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
    ...data.invalid.map(
      ({ name, X, field }): ConformanceCheck => ({
        name: `${name} is a ValidationError naming ${field}`,
        run: async () => {
          const d = await fit(1);
          await assert.rejects(d.score(X), (e: unknown) => e instanceof ValidationError && e.field === field);
        },
      }),
    ),
    ...(data.invalidFit === undefined
      ? []
      : [
          {
            name: 'invalid training input is a ValidationError',
            run: async () => {
              await assert.rejects(options.create(1).fit(data.invalidFit!, fitOptions()), ValidationError);
            },
          },
        ]),
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
