import { Matrix, NotFittedError, Rng, ValidationError } from '@anomalia/core';
import { conformanceChecks } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { LocalOutlierFactor } from './local-outlier-factor';

/*
 * Expected values from scikit-learn 1.2.1 (Debian python3-sklearn), computed with:
 *
 *   A = np.array([[i % 6, (i // 6) % 5] for i in range(30)] + [[1, 1], [1, 1], [4, 2], [4, 2],
 *                [4, 2], [0, 4], [10, 10], [-3, 2], [2.5, 2.5], [2.5, 2.5]], dtype=float)
 *   QA = np.array([[(i * 5) % 11 - 0.5, (i * 2) % 7] for i in range(10)], dtype=float)
 *   m = LocalOutlierFactor(n_neighbors=5, novelty=True).fit(A)      # m._fit_method == 'kd_tree'
 *   -m.negative_outlier_factor_, -m.score_samples(QA)
 *
 *   B = np.array([[np.sqrt(((i * 20 + j) * 7) % 1009 + 1) / 10 for j in range(20)] for i in range(30)])
 *   QB = np.array([[np.sqrt(((i * 20 + j) * 11) % 997 + 3) / 10 for j in range(20)] for i in range(6)])
 *   m = LocalOutlierFactor(n_neighbors=5, novelty=True).fit(B)      # m._fit_method == 'brute'
 *
 *   LocalOutlierFactor(n_neighbors=4, novelty=True, metric='manhattan', algorithm='kd_tree').fit(B[:, :6])
 *   LocalOutlierFactor(n_neighbors=4, novelty=True, metric='minkowski', p=3, algorithm='kd_tree').fit(B[:, :6])
 */
const A = Matrix.fromRows([
  ...Array.from({ length: 30 }, (_, i) => [i % 6, Math.floor(i / 6) % 5]),
  [1, 1],
  [1, 1],
  [4, 2],
  [4, 2],
  [4, 2],
  [0, 4],
  [10, 10],
  [-3, 2],
  [2.5, 2.5],
  [2.5, 2.5],
]);
const QA = Matrix.fromRows(Array.from({ length: 10 }, (_, i) => [((i * 5) % 11) - 0.5, (i * 2) % 7]));
const A_TRAIN = [
  1.1775440071831542, 1.072870335300741, 1.0689148570920088, 1.1336253594249377, 1.073286640905494,
  1.2490908393772027, 1.072870335300741, 0.9147186257687456, 1.1170791583397877, 0.9539512809760298,
  1.0688532923177196, 1.0804661575685817, 1.0296046148026392, 1.1038086985103575, 0.8464508481537285,
  0.9878993209619743, 0.9672954016975206, 1.0408326112012003, 1.2109936088640645, 0.9553060014925201,
  1.0085164007698764, 0.9395741634906528, 1.0393537751544564, 1.0960134683466922, 1.1281508963965519,
  1.1117191663292152, 1.1044791886997878, 1.1419374388899628, 1.1539956002226865, 1.2823647367898736,
  0.9147186257687456, 0.9147186257687456, 0.9672954016975206, 0.9672954016975206, 0.9672954016975206,
  1.1281508963965519, 6.306670670607448, 2.4293884399386014, 0.9827900236965647, 0.9827900236965647,
];
const A_TEST = [
  1.3798972397572176, 0.9715728752562486, 3.6109678223325625, 1.7794372381669525, 2.881140491700265,
  0.951119993165985, 2.6170175995489853, 1.0421435359696432, 1.5881610273507634, 1.0640754481982762,
];
const B = Matrix.fromRows(
  Array.from({ length: 30 }, (_, i) =>
    Array.from({ length: 20 }, (_, j) => Math.sqrt((((i * 20 + j) * 7) % 1009) + 1) / 10),
  ),
);
const QB = Matrix.fromRows(
  Array.from({ length: 6 }, (_, i) =>
    Array.from({ length: 20 }, (_, j) => Math.sqrt((((i * 20 + j) * 11) % 997) + 3) / 10),
  ),
);
const B_TRAIN = [
  1.3001087293982603, 1.0684690406485025, 0.9988622635709306, 1.005026277444172, 1.00824572292382,
  0.9356523540270032, 1.1387039333320215, 3.5464784863776586, 0.9984433817009732, 0.9980942991282861,
  0.9888143795765476, 0.9831681186033402, 0.8913702382729045, 1.081156169589592, 3.3004872902725966,
  1.052904742413847, 1.0367867083704354, 1.0043922174148576, 0.994222579331292, 0.942616210232166,
  1.04346590254598, 4.043396468805061, 1.146244986279082, 1.038202132710582, 1.030776616849575,
  1.0365995021178818, 1.0359270792530992, 1.1016850891410372, 5.512300838999392, 1.1648881088471457,
];
const B_TEST = [
  1.0919054815961147, 0.9695816890591231, 0.9829430331507517, 0.9459546417239814, 3.7267139048737787,
  1.0148606457529952,
];
const MANHATTAN_TRAIN = [
  1.4360519569496133, 1.015000620858284, 1.0491242714073026, 1.0308647342973916, 1.0226817558648194,
  1.017482025363656, 0.9729759182705804, 3.349108600763633, 1.040796279174637, 1.0457801757017335,
  1.030571235199516, 1.023070504978318, 1.0191397204358803, 0.9367475093794326, 1.1586930014793433,
  1.0099717890429005, 0.9545519602323916, 0.9620569030719517, 0.9736801283396932, 0.980006049166123,
  0.9631767913457568, 1.0697185274778145, 1.06255613118611, 1.0361220109648994, 1.0144442252195405,
  1.0126846182411389, 1.011097169277328, 0.9812535210028293, 1.0697185274778143, 1.2294776390907736,
];
const MANHATTAN_TEST = [
  1.188808401764268, 0.998186033699081, 0.993562662197619, 1.0002229706853967, 1.0178222523560656,
  0.9835408397386689,
];
const MINKOWSKI3_TRAIN = [
  1.4673655359065263, 1.0163669681546161, 1.049236985305144, 1.030891206261231, 1.0226921313972572,
  1.0174886841435602, 0.9729753913937798, 7.146434139157845, 1.041635856236569, 1.0458580867527565,
  1.0305935264569943, 1.0230800118865073, 1.0191429119916928, 0.9367498165783006, 1.1586876792026959,
  1.0078051776294819, 0.9539779368548704, 0.9619955287085133, 0.9736619152063043, 0.9799972293663952,
  0.9631729082646191, 1.0697140631060766, 1.0625502603855659, 1.0357041195500853, 1.014428703066009,
  1.012685170028155, 1.0110977620353068, 0.9812488704539165, 1.0697140631060766, 1.2353855767021584,
];
const MINKOWSKI3_TEST = [
  1.210297334412544, 0.9981704913273326, 0.9935493616947578, 1.0002218569479098, 1.0178208995396685,
  0.9880890528400046,
];

function expectClose(actual: ArrayLike<number>, expected: number[], rel = 1e-12) {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(Math.abs(actual[i]! - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(
      rel * Math.abs(e),
    );
  });
}

describe('LocalOutlierFactor: conformance', () => {
  for (const c of conformanceChecks({
    create: () => new LocalOutlierFactor(),
    load: LocalOutlierFactor.load,
  })) {
    it(c.name, c.run);
  }
  describe('with the brute-force search', () => {
    for (const c of conformanceChecks({
      create: () => new LocalOutlierFactor({ algorithm: 'brute' }),
      load: LocalOutlierFactor.load,
      rows: 200,
      cols: 20,
    })) {
      it(c.name, c.run);
    }
  });
});

describe('LocalOutlierFactor matches scikit-learn', () => {
  it('on a grid with duplicates and ties (KD-tree, euclidean)', async () => {
    const m = new LocalOutlierFactor({ nNeighbors: 5 });
    await m.fit(A);
    expect(m.algorithmUsed).toBe('kd-tree');
    // Bitwise: same neighbours among ties, same arithmetic.
    expect(Array.from(m.trainingScores)).toEqual(A_TRAIN);
    expect(Array.from(await m.score(QA))).toEqual(A_TEST);
  });

  it('in 20 dimensions (brute force; scikit-learn computes distances with BLAS, so equal to rounding)', async () => {
    const m = new LocalOutlierFactor({ nNeighbors: 5 });
    await m.fit(B);
    expect(m.algorithmUsed).toBe('brute');
    expectClose(m.trainingScores, B_TRAIN, 1e-12);
    expectClose(await m.score(QB), B_TEST, 1e-12);
  });

  it('with the manhattan and minkowski (p = 3) metrics', async () => {
    const B6 = B.selectColumns([0, 1, 2, 3, 4, 5]);
    const Q6 = QB.selectColumns([0, 1, 2, 3, 4, 5]);
    const manhattan = new LocalOutlierFactor({ nNeighbors: 4, metric: 'manhattan' });
    await manhattan.fit(B6);
    expectClose(manhattan.trainingScores, MANHATTAN_TRAIN);
    expectClose(await manhattan.score(Q6), MANHATTAN_TEST);
    const minkowski = new LocalOutlierFactor({ nNeighbors: 4, metric: 'minkowski', p: 3 });
    await minkowski.fit(B6);
    expectClose(minkowski.trainingScores, MINKOWSKI3_TRAIN, 1e-9);
    expectClose(await minkowski.score(Q6), MINKOWSKI3_TEST, 1e-9);
  });

  it('gives the same scores with either search on data without ties', async () => {
    const rng = new Rng(3);
    const X = Matrix.fromRows(
      Array.from({ length: 400 }, () => Array.from({ length: 6 }, () => rng.normal())),
    );
    const Q = Matrix.fromRows(
      Array.from({ length: 50 }, () => Array.from({ length: 6 }, () => rng.normal() * 2)),
    );
    const kd = new LocalOutlierFactor({ nNeighbors: 10, algorithm: 'kd-tree' });
    const brute = new LocalOutlierFactor({ nNeighbors: 10, algorithm: 'brute' });
    await kd.fit(X);
    await brute.fit(X);
    expect(Array.from(brute.trainingScores)).toEqual(Array.from(kd.trainingScores));
    expect(Array.from(await brute.score(Q))).toEqual(Array.from(await kd.score(Q)));
  });
});

describe('LocalOutlierFactor behaviour', () => {
  it('novelty mode scores new rows; outlier mode only has the training scores', async () => {
    const novelty = new LocalOutlierFactor({ nNeighbors: 5 });
    await novelty.fit(A);
    // A training row scored as a new row counts itself as a neighbour: a different value.
    const asNew = await novelty.score(A);
    expect(asNew[36]).not.toBeCloseTo(novelty.trainingScores[36]!, 3);

    const outlier = new LocalOutlierFactor({ nNeighbors: 5, novelty: false });
    await outlier.fit(A);
    expect(Array.from(outlier.trainingScores)).toEqual(A_TRAIN);
    await expect(outlier.score(QA)).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'params.novelty',
    });
  });

  it('counts duplicates as neighbours but not the row itself; k + 1 duplicates give LOF 1', async () => {
    const rows = [...Array.from({ length: 6 }, () => [1, 1]), [5, 5], [5, 6], [6, 5], [9, 9]];
    const m = new LocalOutlierFactor({ nNeighbors: 3 });
    await m.fit(Matrix.fromRows(rows));
    // Six copies of (1, 1): each has 5 others at distance 0, so k-distance 0 and density 1e10.
    expect(Array.from(m.trainingDensities.slice(0, 6))).toEqual(Array(6).fill(1 / 1e-10));
    expect(Array.from(m.trainingScores.slice(0, 6))).toEqual(Array(6).fill(1));
    expect(m.trainingScores.every(Number.isFinite)).toBe(true);
    // A new copy of (1, 1) is as dense as its neighbours.
    expect((await m.score(Matrix.fromRows([[1, 1]])))[0]).toBe(1);
  });

  it('clamps nNeighbors to n − 1 with a note in the fit report', async () => {
    const m = new LocalOutlierFactor({ nNeighbors: 20 });
    const report = await m.fit(A.selectRows([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(m.nNeighborsUsed).toBe(7);
    expect(report.nNeighborsUsed).toBe(7);
    expect(report.notes).toEqual([
      expect.stringContaining('greater than the number of training rows minus one'),
    ]);
    expect((await m.score(QA)).every(Number.isFinite)).toBe(true);
    await expect(new LocalOutlierFactor().fit(A.selectRows([0]))).rejects.toMatchObject({ field: 'X.rows' });
  });

  it('ignores a constant column (it adds nothing to any distance)', async () => {
    const withConstant = new Matrix(A.rows, 3);
    for (let i = 0; i < A.rows; i++) withConstant.data.set([A.get(i, 0), 7, A.get(i, 1)], i * 3);
    const m = new LocalOutlierFactor({ nNeighbors: 5 });
    await m.fit(withConstant);
    expectClose(m.trainingScores, A_TRAIN, 1e-12);
  });

  it('sets the contamination threshold on the training LOFs, "auto" at 1.5', async () => {
    const auto = new LocalOutlierFactor({ nNeighbors: 5 });
    await auto.fit(A);
    expect(auto.threshold).toMatchObject({ value: 1.5, split: 'none' });
    const fraction = new LocalOutlierFactor({ nNeighbors: 5, contamination: 0.1 });
    await fraction.fit(A);
    expect(fraction.threshold!.split).toBe('train');
    const flagged = Array.from(fraction.trainingScores).filter((s) => s > fraction.threshold!.value).length;
    expect(flagged).toBe(4);
    expect((await fraction.predict(Matrix.fromRows([[10, 10]])))[0]).toBe(1);
  });

  it('exposes the neighbours of new rows', async () => {
    const m = new LocalOutlierFactor({ nNeighbors: 5 });
    await m.fit(A);
    const nb = m.kNeighbors(Matrix.fromRows([[0, 0]]), 3);
    // Ascending distances; equidistant neighbours come in scikit-learn's (unstable) sort order.
    expect(Array.from(nb.indices).sort((a, b) => a - b)).toEqual([0, 1, 6]);
    expect(Array.from(nb.distances)).toEqual([0, 1, 1]);
    expect(() => m.kNeighbors(QA, 0)).toThrow(ValidationError);
  });

  it('validates its parameters, naming them', () => {
    expect(() => new LocalOutlierFactor({ nNeighbors: 0 })).toThrow(/params\.nNeighbors/);
    expect(() => new LocalOutlierFactor({ p: 0.5 })).toThrow(/params\.p/);
    expect(() => new LocalOutlierFactor({ metric: 'cosine' as 'euclidean' })).toThrow(/params\.metric/);
    expect(() => new LocalOutlierFactor({ contamination: 0.7 })).toThrow(/params\.contamination/);
    expect(() => new LocalOutlierFactor({ algorithm: 'ball' as 'brute' })).toThrow(/params\.algorithm/);
    expect(() => new LocalOutlierFactor().trainingScores).toThrow(NotFittedError);
  });
});
