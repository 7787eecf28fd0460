import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError, loadArtifact, Matrix, NotFittedError, Rng, saveArtifact } from '@anomalia/core';
import { conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import type { FlatForest } from './forest';
import { IsolationForest } from './isolation-forest';
import { averagePathLength } from './path-length';

const forestOf = (m: IsolationForest) => (m as unknown as { forest: FlatForest }).forest;

/** Columns each tree splits on, and the depth of each tree. */
function treeStats(f: FlatForest) {
  const trees: Array<{ features: Set<number>; depth: number; leafRows: number }> = [];
  for (let t = 0; t + 1 < f.roots.length; t++) {
    const depth = new Map<number, number>([[f.roots[t]!, 0]]);
    const features = new Set<number>();
    let maxDepth = 0;
    let leafRows = 0;
    for (let node = f.roots[t]!; node < f.roots[t + 1]!; node++) {
      const dn = depth.get(node)!;
      maxDepth = Math.max(maxDepth, dn);
      if (f.left[node]! >= 0) {
        features.add(f.feature[node]!);
        depth.set(f.left[node]!, dn + 1);
        depth.set(f.right[node]!, dn + 1);
      } else leafRows += f.nodeSamples[node]!;
    }
    trees.push({ features, depth: maxDepth, leafRows });
  }
  return trees;
}

const gaussian = (rows: number, cols: number, seed: number) => {
  const rng = new Rng(seed);
  return Matrix.fromRows(
    Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal())),
  );
};

describe('IsolationForest: conformance', () => {
  for (const c of conformanceChecks({
    create: (seed) => new IsolationForest({ seed }),
    load: IsolationForest.load,
  })) {
    it(c.name, c.run);
  }
});

describe('IsolationForest statistics', () => {
  it('scores an obvious outlier far above the inliers', async () => {
    const X = gaussian(500, 3, 1);
    const m = new IsolationForest({ seed: 2 });
    await m.fit(X);
    const s = await m.score(
      Matrix.fromRows([
        [0, 0, 0],
        [0.5, -0.3, 0.2],
        [8, -8, 8],
      ]),
    );
    expect(s[2]).toBeGreaterThan(0.7);
    expect(s[0]).toBeLessThan(0.5);
    expect(s[1]).toBeLessThan(0.5);
  });

  it('scores 2^(−E[h]/c(ψ)), with E[h] the mean path length over trees', async () => {
    const X = gaussian(300, 4, 3);
    const m = new IsolationForest({ seed: 4, nEstimators: 50 });
    await m.fit(X);
    const h = m.pathLengths(X);
    const s = await m.score(X);
    for (const [i, v] of Array.from(h).entries())
      expect(s[i]).toBeCloseTo(2 ** (-v / averagePathLength(256)), 14);
    // An average row's path is close to c(ψ): the mean score is near 0.5 but below (inliers dominate).
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.5);
  });

  it('grows trees to depth ⌈log2 ψ⌉ at most, leaves counting the subsample', async () => {
    const X = gaussian(1000, 5, 5);
    const m = new IsolationForest({ seed: 6, nEstimators: 20 });
    const report = await m.fit(X);
    expect(report.maxSamplesUsed).toBe(256);
    expect(report.maxDepth).toBe(8);
    for (const t of treeStats(forestOf(m))) {
      expect(t.depth).toBeLessThanOrEqual(8);
      expect(t.leafRows).toBe(256);
    }
  });

  it('gives every row score 0.5 when all rows are identical (no split possible)', async () => {
    const X = Matrix.fromRows(Array.from({ length: 50 }, () => [1, 2, 3]));
    const m = new IsolationForest({ seed: 1, nEstimators: 10 });
    await m.fit(X);
    // Each tree is one leaf of 50 rows: path c(50) = c(ψ), score 2^−1.
    expect(
      Array.from(
        await m.score(
          Matrix.fromRows([
            [1, 2, 3],
            [9, 9, 9],
          ]),
        ),
      ),
    ).toEqual([0.5, 0.5]);
  });

  it('never splits on a constant column', async () => {
    const X = gaussian(200, 3, 7);
    for (let i = 0; i < X.rows; i++) X.set(i, 1, 4.2);
    const m = new IsolationForest({ seed: 8 });
    await m.fit(X);
    for (const t of treeStats(forestOf(m))) expect(t.features.has(1)).toBe(false);
  });

  it('keeps duplicated rows together in leaves (a duplicate group is isolated as one)', async () => {
    const rows = [
      ...Array.from({ length: 30 }, () => [0, 0]),
      ...Array.from({ length: 30 }, (_, i) => [i, 30 - i]),
    ];
    const m = new IsolationForest({ seed: 3, nEstimators: 30 });
    await m.fit(Matrix.fromRows(rows));
    const s = await m.score(
      Matrix.fromRows([
        [0, 0],
        [100, 100],
      ]),
    );
    expect(s[0]).toBeLessThan(s[1]!);
    expect(s.every(Number.isFinite)).toBe(true);
  });
});

describe('IsolationForest with sklearnCompatible', () => {
  /*
   * scikit-learn 1.2.1 (Debian python3-sklearn):
   *   X = np.array([[np.sqrt((i * 4 + j) * 31 % 397 + 1) / 3 for j in range(4)] for i in range(200)])
   *   X[:, 3] = np.floor(X[:, 3]); X[[10, 50]] *= 4
   *   Q = np.array([[np.sqrt((i * 4 + j) * 29 % 389 + 2) / 3 for j in range(4)] for i in range(8)])
   *   -IsolationForest(**params).fit(X).score_samples(Q)
   */
  const X = Matrix.fromRows(
    Array.from({ length: 200 }, (_, i) =>
      Array.from({ length: 4 }, (_, j) => {
        let v = Math.sqrt((((i * 4 + j) * 31) % 397) + 1) / 3;
        if (j === 3) v = Math.floor(v);
        return i === 10 || i === 50 ? v * 4 : v;
      }),
    ),
  );
  const Q = Matrix.fromRows(
    Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 4 }, (_, j) => Math.sqrt((((i * 4 + j) * 29) % 389) + 2) / 3),
    ),
  );

  it("grows scikit-learn's trees for random_state = seed (same scores)", async () => {
    const cases: Array<[ConstructorParameters<typeof IsolationForest>[0], number[]]> = [
      [
        { seed: 0 },
        [
          0.6275620293865859, 0.4441899480104889, 0.4592185011245883, 0.49185303982461226,
          0.44382637088779664, 0.435405691115736, 0.5262023274578531, 0.4985351060966119,
        ],
      ],
      [
        { seed: 3, maxSamples: 64, maxFeatures: 0.5, bootstrap: true },
        [
          0.570091882035602, 0.47890158057621157, 0.5055716136310062, 0.5478158774050352, 0.488823377104083,
          0.49782312441915577, 0.5508941538898722, 0.5202222812030836,
        ],
      ],
    ];
    for (const [params, expected] of cases) {
      const m = new IsolationForest({ ...params, sklearnCompatible: true });
      await m.fit(X);
      const s = await m.score(Q);
      for (const [i, e] of expected.entries()) expect(Math.abs(s[i]! - e)).toBeLessThan(1e-12);
    }
  });

  it("grows scikit-learn's trees for random_state = RandomState(seed) (sklearnRandomState: generator)", async () => {
    /*
     *   -IsolationForest(random_state=np.random.RandomState(0)).fit(X).score_samples(Q)
     *   np.random.seed(5); -IsolationForest(random_state=None, max_samples=64, max_features=0.5,
     *     bootstrap=True).fit(X).score_samples(Q)   (the same as RandomState(5))
     */
    const cases: Array<[ConstructorParameters<typeof IsolationForest>[0], number[]]> = [
      [
        { seed: 0 },
        [
          0.6195224685867268, 0.43387289582988176, 0.4452026648495558, 0.48742689982517623,
          0.4478662917953142, 0.4249694922649995, 0.5027679145974611, 0.49244230961148555,
        ],
      ],
      [
        { seed: 5, maxSamples: 64, maxFeatures: 0.5, bootstrap: true },
        [
          0.6020768193592515, 0.48900466839109763, 0.49780023393145284, 0.5367400247239189,
          0.48558398825853405, 0.4846791882860679, 0.5503759522794665, 0.5355616909828746,
        ],
      ],
    ];
    for (const [params, expected] of cases) {
      const m = new IsolationForest({ ...params, sklearnCompatible: true, sklearnRandomState: 'generator' });
      await m.fit(X);
      const s = await m.score(Q);
      for (const [i, e] of expected.entries()) expect(Math.abs(s[i]! - e)).toBeLessThan(1e-12);
    }
  });
});

describe('IsolationForest parameters', () => {
  const X = gaussian(400, 6, 11);

  it('nEstimators: one tree per estimator', async () => {
    const m = new IsolationForest({ nEstimators: 7 });
    await m.fit(X);
    expect(forestOf(m).roots.length).toBe(8);
  });

  it('maxSamples: "auto" = min(256, n), a count, a fraction, capped at n with a note', async () => {
    const cases: Array<[IsolationForest, number, number]> = [
      [new IsolationForest({ maxSamples: 'auto' }), 400, 256],
      [new IsolationForest({ maxSamples: 'auto' }), 100, 100],
      [new IsolationForest({ maxSamples: 64 }), 400, 64],
      [new IsolationForest({ maxSamples: 0.5 }), 400, 200],
      [new IsolationForest({ maxSamples: 1 }), 400, 400],
    ];
    for (const [m, n, psi] of cases) {
      const report = await m.fit(X.selectRows(Array.from({ length: n }, (_, i) => i)));
      expect(m.maxSamplesUsed).toBe(psi);
      expect(report.maxDepth).toBe(Math.ceil(Math.log2(psi)));
    }
    const capped = new IsolationForest({ maxSamples: 1000 });
    const report = await capped.fit(X);
    expect(capped.maxSamplesUsed).toBe(400);
    expect(report.notes).toEqual([expect.stringContaining('greater than the number of rows')]);
  });

  it('maxFeatures: each tree splits only on its own subset of columns', async () => {
    for (const [maxFeatures, count] of [
      [2, 2],
      [0.5, 3],
    ] as const) {
      const m = new IsolationForest({ maxFeatures, seed: 2 });
      await m.fit(X);
      const all = new Set<number>();
      for (const t of treeStats(forestOf(m))) {
        expect(t.features.size).toBeLessThanOrEqual(count);
        for (const f of t.features) all.add(f);
      }
      expect(all.size).toBe(6);
    }
    await expect(new IsolationForest({ maxFeatures: 7 }).fit(X)).rejects.toMatchObject({
      field: 'params.maxFeatures',
    });
  });

  it('bootstrap: rows drawn with replacement, each distinct row counted once in the leaves', async () => {
    const m = new IsolationForest({ bootstrap: true, seed: 5 });
    await m.fit(X);
    for (const t of treeStats(forestOf(m))) {
      // 256 draws from 400 rows have about 400·(1 − e^(−0.64)) ≈ 189 distinct rows.
      expect(t.leafRows).toBeLessThan(256);
      expect(t.leafRows).toBeGreaterThan(150);
    }
    const plain = new IsolationForest({ seed: 5 });
    await plain.fit(X);
    expect(Array.from(await m.score(X))).not.toEqual(Array.from(await plain.score(X)));
  });

  it('contamination: "auto" flags scores above 0.5; a fraction flags that share of the training rows', async () => {
    const auto = new IsolationForest({ seed: 1 });
    await auto.fit(X);
    expect(auto.threshold).toMatchObject({ value: 0.5, split: 'none' });
    const { X: planted } = plantedAnomalies(400, 4, 3, 0.1);
    const m = new IsolationForest({ contamination: 0.1, seed: 1 });
    await m.fit(planted);
    const flagged = (await m.predict(planted)).reduce((a, b) => a + b, 0);
    expect(flagged).toBe(40);
  });

  it('seed: the same seed gives the same forest, another seed another one', async () => {
    const a = new IsolationForest({ seed: 3 });
    const b = new IsolationForest({ seed: 3 });
    const c = new IsolationForest({ seed: 4 });
    for (const m of [a, b, c]) await m.fit(X);
    expect(Array.from(await a.score(X))).toEqual(Array.from(await b.score(X)));
    expect(Array.from(await a.score(X))).not.toEqual(Array.from(await c.score(X)));
  });

  it('validates its parameters, naming them', () => {
    expect(() => new IsolationForest({ nEstimators: 0 })).toThrow(/params\.nEstimators/);
    expect(() => new IsolationForest({ maxSamples: 2.5 })).toThrow(/params\.maxSamples/);
    expect(() => new IsolationForest({ maxSamples: 0 })).toThrow(/params\.maxSamples/);
    expect(() => new IsolationForest({ maxFeatures: -1 })).toThrow(/params\.maxFeatures/);
    expect(() => new IsolationForest({ contamination: 0.6 })).toThrow(/params\.contamination/);
    expect(() => new IsolationForest({ seed: 1.5 })).toThrow(/params\.seed/);
    expect(() => new IsolationForest().pathLengths(X)).toThrow(NotFittedError);
  });

  it('refuses a corrupted forest in an artifact', async () => {
    const m = new IsolationForest({ nEstimators: 3 });
    await m.fit(X);
    const dir = await mkdtemp(join(tmpdir(), 'iforest-'));
    try {
      await m.save(dir);
      // Point a child back at the root (a cycle the loader must refuse) and save it again, so the
      // checksums and the manifest digest are consistent and only the forest checks can catch it.
      const artifact = await loadArtifact(dir);
      artifact.tensors.left!.data[0] = 0;
      await saveArtifact(dir, artifact);
      await expect(IsolationForest.load(dir)).rejects.toBeInstanceOf(ArtifactError);
      await expect(IsolationForest.load(dir)).rejects.toMatchObject({ field: 'tensors.left' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
