import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LoadedArtifact, loadArtifact, requireTensor, restoreFromArtifact } from './artifact';
import { BaseDetector, type ModelExport } from './detector';
import { ArtifactError, NotFittedError, ValidationError } from './errors';
import type { Matrix } from './matrix';
import { BaseMatrixDetector } from './matrix-detector';
import { Rng } from './rng';
import { ScalerParamSchema } from './scalers';
import { conformanceChecks, plantedAnomalies } from './testing/conformance';
import { editManifest } from './testing/tamper';
import { ContaminationSchema } from './thresholds';

const ParamsSchema = z.object({
  seed: z.number().int().default(0),
  subsample: z.number().int().min(1).default(50),
  contamination: ContaminationSchema.optional(),
  scaler: ScalerParamSchema.default('none'),
});

/** A minimal real detector for testing the contract: distance to the mean of a seeded subsample. */
class CentroidDistance extends BaseMatrixDetector<z.infer<typeof ParamsSchema>> {
  /** Training scores computed by the last fit (how many times the training rows were scored). */
  scoringPasses = 0;
  readonly kind = 'centroid-distance';
  private centroid = new Float64Array(0);
  constructor(params: unknown = {}) {
    super(ParamsSchema, params);
  }
  static async load(dir: string) {
    return new CentroidDistance((await loadArtifact(dir, { kind: 'centroid-distance' })).params).restore(
      await loadArtifact(dir),
    );
  }
  protected fitModel(X: Matrix) {
    const rng = new Rng(this.params.seed);
    const idx = rng.sampleIndices(X.rows, Math.min(X.rows, this.params.subsample));
    this.centroid = new Float64Array(X.cols);
    for (const i of idx) for (let j = 0; j < X.cols; j++) this.centroid[j]! += X.get(i, j) / idx.length;
    this.scoringPasses = 0;
    return { report: { history: [{ n: idx.length }] } };
  }
  protected scoreModel(X: Matrix) {
    this.scoringPasses++;
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let s = 0;
      for (let j = 0; j < X.cols; j++) s += (X.get(i, j) - this.centroid[j]!) ** 2;
      out[i] = Math.sqrt(s);
    }
    return out;
  }
  protected exportModel(): ModelExport {
    return { state: { dims: this.centroid.length }, tensors: { centroid: { data: this.centroid } } };
  }
  protected importModel(a: LoadedArtifact) {
    this.centroid = requireTensor(a, 'centroid', 'float64', a.state.dims as number);
  }
}

describe('the conformance kit on a minimal detector', () => {
  for (const c of conformanceChecks({
    create: (seed) => new CentroidDistance({ seed }),
    load: CentroidDistance.load,
  }))
    it(c.name, c.run);
});

describe('BaseDetector', () => {
  it('validates parameters with errors naming them', () => {
    expect(() => new CentroidDistance({ subsample: 0 })).toThrow(/params\.subsample/);
    expect(() => new CentroidDistance({ seed: 'x' })).toThrow(ValidationError);
  });

  it('sets a contamination threshold on the training scores, scoring the training rows once', async () => {
    const { X } = plantedAnomalies(200, 3, 1, 0.1);
    const d = new CentroidDistance({ contamination: 0.1 });
    const report = await d.fit(X);
    expect(report.seconds).toBeGreaterThanOrEqual(0);
    expect(report.history).toEqual([{ n: 50 }]);
    expect(d.scoringPasses).toBe(1);
    expect(d.threshold!.split).toBe('train');
    const flagged = (await d.predict(X)).reduce((a, b) => a + b, 0);
    expect(flagged).toBe(20);
  });

  it('without contamination or a native cut-off there is no default threshold, and nothing is scored', async () => {
    const { X } = plantedAnomalies(100, 3, 1, 0.1);
    const d = new CentroidDistance();
    await d.fit(X);
    expect(d.threshold).toBeNull();
    expect(d.scoringPasses).toBe(0);
    await expect(d.predict(X)).rejects.toBeInstanceOf(NotFittedError);
    expect(() => new CentroidDistance({ contamination: 'auto' })).toThrow(/params\.contamination/);
    expect(() => new CentroidDistance({ contamination: 0.7 })).toThrow(/params\.contamination/);
  });

  it('keeps the scaler named by params.scaler inside the model and its artifact', async () => {
    const { X } = plantedAnomalies(200, 3, 2, 0);
    const d = new CentroidDistance({ scaler: 'minmax' });
    await d.fit(X, { featureNames: ['a', 'b', 'c'] });
    expect(d.scaler!.kind).toBe('minmax');
    expect(d.scaler!.isFitted).toBe(true);
    expect(d.featureNames).toEqual(['a', 'b', 'c']);
    const dir = `${process.env.TMPDIR ?? '/tmp'}/anomalia-detector-${process.pid}`;
    await d.save(dir);
    const back = await CentroidDistance.load(dir);
    expect(Array.from(await back.score(X))).toEqual(Array.from(await d.score(X)));
    await expect(d.fit(X, { featureNames: ['a'] })).rejects.toThrow(/featureNames\.length/);
    expect(() => new CentroidDistance({ scaler: 'zscore' })).toThrow(/params\.scaler/);
  });

  it('refuses unknown parameters, and names manifest.json for parameters an artifact holds', async () => {
    expect(() => new CentroidDistance({ subsampel: 10 })).toThrow(
      'params.subsampel: expected no such key (unknown keys are refused, not ignored)',
    );
    const { X } = plantedAnomalies(100, 2, 3, 0);
    const d = new CentroidDistance({});
    await d.fit(X);
    const dir = `${process.env.TMPDIR ?? '/tmp'}/anomalia-detector-params-${process.pid}`;
    await d.save(dir);
    await editManifest(dir, (m) => (m.params.subsample = 0), { redigest: true });
    const error = await loadArtifact(dir).then((a) => {
      try {
        return restoreFromArtifact(a, (p) => new CentroidDistance(p));
      } catch (e) {
        return e;
      }
    });
    expect(error).toBeInstanceOf(ArtifactError);
    expect(String(error)).toBe(
      'ArtifactError: manifest.json: params.subsample: expected a number ≥ 1, received 0',
    );
  });
});

const LengthParams = z.object({ cutoff: z.number().default(3) });

/**
 * A detector on another input type (token lists): score = |length − mean training length|,
 * with a native cut-off. Checks that the generic base and the conformance kit need no matrix.
 */
class LengthDeviation extends BaseDetector<z.infer<typeof LengthParams>, readonly string[][]> {
  readonly kind = 'length-deviation';
  private mean = 0;
  constructor(params: unknown = {}) {
    super(LengthParams, params);
  }
  static async load(dir: string) {
    const a = await loadArtifact(dir, { kind: 'length-deviation' });
    return new LengthDeviation(a.params).restore(a);
  }
  protected override nativeThreshold() {
    return this.params.cutoff;
  }
  protected override get inputName() {
    return 'lists';
  }
  protected checkInput(X: readonly string[][], field: string, purpose: 'fit' | 'score') {
    if (!Array.isArray(X)) throw new ValidationError(field, 'an array of token lists', X);
    if (purpose === 'fit' && X.length === 0) throw new ValidationError(field, 'at least one list', 0);
    X.forEach((l, i) => {
      if (!Array.isArray(l)) throw new ValidationError(`${field}[${i}]`, 'a token list', l);
    });
    return X.length;
  }
  protected fitModel(X: readonly string[][]) {
    this.mean = X.reduce((s, l) => s + l.length, 0) / X.length;
    return {};
  }
  protected scoreModel(X: readonly string[][]) {
    return Float64Array.from(X, (l) => Math.abs(l.length - this.mean));
  }
  protected exportModel(): ModelExport {
    return { state: { mean: this.mean } };
  }
  protected importModel(a: LoadedArtifact) {
    this.mean = a.state.mean as number;
  }
}

function lists(n: number, seed: number, anomalyFraction: number) {
  const rng = new Rng(seed);
  const X: string[][] = [];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const anomalous = rng.random() < anomalyFraction;
    y[i] = anomalous ? 1 : 0;
    X.push(Array.from({ length: anomalous ? rng.integer(25, 40) : rng.integer(8, 12) }, () => 't'));
  }
  return { X, y };
}

describe('the conformance kit on a detector of token lists', () => {
  const test = lists(120, 2, 0.2);
  for (const c of conformanceChecks({
    create: () => new LengthDeviation(),
    load: LengthDeviation.load,
    data: {
      train: lists(200, 1, 0),
      test,
      invalid: [{ name: 'a list that is not an array', X: [['a'], 'b' as never], field: 'lists[1]' }],
      invalidFit: [],
    },
  }))
    it(c.name, c.run);

  it('takes the native cut-off as its default threshold', async () => {
    const d = new LengthDeviation({ cutoff: 5 });
    await d.fit(lists(50, 3, 0).X);
    expect(d.threshold).toMatchObject({ value: 5, split: 'none', strategy: { strategy: 'fixed' } });
  });
});
