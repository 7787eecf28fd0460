import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type LoadedArtifact, loadArtifact, requireTensor } from './artifact';
import { BaseDetector, type ModelExport } from './detector';
import { ValidationError } from './errors';
import type { Matrix } from './matrix';
import { Rng } from './rng';
import { MinMaxScaler } from './scalers';
import { conformanceChecks, plantedAnomalies } from './testing/conformance';

const ParamsSchema = z.object({
  seed: z.number().int().default(0),
  subsample: z.number().int().min(1).default(50),
  contamination: z.number().gt(0).max(0.5).optional(),
});

/** A minimal real detector for testing the contract: distance to the mean of a seeded subsample. */
class CentroidDistance extends BaseDetector<z.infer<typeof ParamsSchema>> {
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
    return { history: [{ n: idx.length }] };
  }
  protected scoreModel(X: Matrix) {
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

  it('sets a contamination threshold on the training scores', async () => {
    const { X } = plantedAnomalies(200, 3, 1, 0.1);
    const d = new CentroidDistance({ contamination: 0.1 });
    const report = await d.fit(X);
    expect(report.seconds).toBeGreaterThanOrEqual(0);
    expect(d.threshold!.split).toBe('train');
    const flagged = (await d.predict(X)).reduce((a, b) => a + b, 0);
    expect(flagged).toBe(20);
  });

  it('keeps the scaler inside the model and its artifact', async () => {
    const { X } = plantedAnomalies(200, 3, 2, 0);
    const d = new CentroidDistance();
    await d.fit(X, { scaler: new MinMaxScaler(), featureNames: ['a', 'b', 'c'] });
    expect(d.scaler!.isFitted).toBe(true);
    expect(d.featureNames).toEqual(['a', 'b', 'c']);
    const dir = `${process.env.TMPDIR ?? '/tmp'}/anomalia-detector-${process.pid}`;
    await d.save(dir);
    const back = await CentroidDistance.load(dir);
    expect(Array.from(await back.score(X))).toEqual(Array.from(await d.score(X)));
    await expect(d.fit(X, { featureNames: ['a'] })).rejects.toThrow(/featureNames\.length/);
  });
});
