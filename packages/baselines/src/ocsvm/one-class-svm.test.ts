import { Matrix, NotFittedError } from '@anomalia/core';
import { conformanceChecks, plantedAnomalies } from '@anomalia/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { setSimdEnabled } from '../shared/simd-dots';
import { OneClassSVM, type OneClassSVMInput } from './one-class-svm';

/*
 * Expected values from scikit-learn 1.2.1 (Debian python3-sklearn):
 *
 *   S = np.array([[np.sqrt((i * 3 + j) * 13 % 211 + 1) / 4 for j in range(3)] for i in range(60)])
 *   S[[5, 17, 42]] *= 3
 *   QS = np.array([[np.sqrt((i * 3 + j) * 17 % 199 + 2) / 4 for j in range(3)] for i in range(10)])
 *   m = OneClassSVM(**params).fit(S)
 *   m.decision_function(QS), -m.intercept_[0], m.support_
 */
const S = Matrix.fromRows(
  Array.from({ length: 60 }, (_, i) =>
    Array.from(
      { length: 3 },
      (_, j) => (Math.sqrt((((i * 3 + j) * 13) % 211) + 1) / 4) * ([5, 17, 42].includes(i) ? 3 : 1),
    ),
  ),
);
const QS = Matrix.fromRows(
  Array.from({ length: 10 }, (_, i) =>
    Array.from({ length: 3 }, (_, j) => Math.sqrt((((i * 3 + j) * 17) % 199) + 2) / 4),
  ),
);
const CASES: Array<{ params: OneClassSVMInput; dec: number[]; rho: number; support: number[] }> = [
  {
    params: { kernel: 'rbf', gamma: 'scale', nu: 0.5 },
    dec: [
      -4.1532073638042295, 0.5622572513665194, 0.7882403130747893, -0.48645369029213903, -2.927344481388399,
      0.6785255480126295, 0.7188575382999023, -0.6702194236979668, -2.123921838311695, 0.7692698519418553,
    ],
    rho: 15.00546818747703,
    support: [
      0, 4, 5, 6, 10, 11, 15, 16, 17, 20, 21, 22, 26, 27, 28, 31, 32, 33, 37, 38, 42, 43, 44, 47, 48, 49, 53,
      54, 55, 58, 59,
    ],
  },
  {
    params: { kernel: 'rbf', gamma: 0.5, nu: 0.1 },
    dec: [
      0.021881398973235267, -0.005363902307632951, -0.0013593681675989622, 0.027780543892222287,
      0.0340395636609131, -0.00505138274338135, 0.001614576753408814, 0.025976715070500256,
      0.02379166521171916, -0.005102405687198108,
    ],
    rho: 0.7778563002886844,
    support: [0, 1, 5, 17, 21, 24, 27, 28, 32, 42, 43, 48, 51, 55],
  },
  {
    params: { kernel: 'linear', nu: 0.3 },
    dec: [
      -91.5032705185232, 3.402699638422064, 60.159612059950234, 105.4459176350455, -75.5943742257221,
      9.7709968943484, 64.98444414308551, 109.49269737814106, -63.426116360935396, 15.917242011769673,
    ],
    rho: 173.4750514030459,
    support: [0, 1, 6, 11, 12, 16, 22, 23, 27, 28, 33, 38, 39, 43, 44, 49, 50, 54, 55],
  },
  {
    params: { kernel: 'poly', gamma: 0.2, degree: 3, coef0: 1, nu: 0.2 },
    dec: [
      -129.27089987743238, 63.47128614966519, 269.5622321749031, 494.711406716754, -108.21503524895532,
      82.79220636635793, 290.82315698258594, 517.739142603728, -89.2456101391764, 102.30558442819463,
    ],
    rho: 208.77970362619985,
    support: [0, 1, 6, 11, 16, 22, 28, 33, 38, 43, 44, 49, 55],
  },
  {
    params: { kernel: 'sigmoid', gamma: 0.1, coef0: 0, nu: 0.4 },
    dec: [
      -8.57997638954195, -0.975464588557017, 1.281113922047858, 2.364532704637707, -6.884167035673318,
      -0.6562391469720659, 1.4210642702350498, 2.4396907926862177, -5.70708296803131, -0.3660243316790499,
    ],
    rho: 19.599233955144864,
    support: [0, 1, 6, 7, 11, 12, 16, 18, 21, 22, 23, 27, 28, 33, 34, 38, 39, 43, 44, 45, 49, 50, 54, 55],
  },
];

function expectRelClose(actual: ArrayLike<number>, expected: number[], rel: number) {
  expect(actual.length).toBe(expected.length);
  for (const [i, e] of Array.from(expected).entries())
    expect(Math.abs(actual[i]! - e)).toBeLessThanOrEqual(rel * Math.abs(e) + 1e-12);
}

describe('OneClassSVM: conformance', () => {
  for (const c of conformanceChecks({ create: () => new OneClassSVM(), load: OneClassSVM.load }))
    it(c.name, c.run);
});

describe('OneClassSVM matches scikit-learn (libsvm)', () => {
  afterEach(() => setSimdEnabled(true));
  for (const simd of [true, false]) {
    for (const c of CASES) {
      it(`${JSON.stringify(c.params)}${simd ? '' : ' without SIMD'}`, async () => {
        setSimdEnabled(simd);
        const m = new OneClassSVM(c.params);
        await m.fit(S);
        expect(Array.from(m.supportIndices)).toEqual(c.support);
        expect(Math.abs(m.rho - c.rho)).toBeLessThanOrEqual(1e-9 * Math.abs(c.rho));
        expectRelClose(await m.decisionFunction(QS), c.dec, 1e-6);
        // score = −decision_function
        expectRelClose(
          await m.score(QS),
          c.dec.map((v) => -v),
          1e-6,
        );
        expect(m.dualCoef.every((a) => a > 0 && a <= 1)).toBe(true);
      });
    }
  }
});

describe('OneClassSVM parameters', () => {
  const { X } = plantedAnomalies(300, 4, 21, 0.05);

  it('nu bounds the fraction of support vectors (≥ ν) and of training outliers (≤ ν)', async () => {
    for (const nu of [0.05, 0.2, 0.5]) {
      const m = new OneClassSVM({ nu });
      await m.fit(X);
      expect(m.supportIndices.length / X.rows).toBeGreaterThanOrEqual(nu - 1e-9);
      const dec = await m.decisionFunction(X);
      // libsvm's tolerance allows a few rows on the margin.
      expect(dec.filter((v) => v < -1e-3).length / X.rows).toBeLessThanOrEqual(nu + 0.01);
      const sum = m.dualCoef.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(nu * X.rows, 9);
    }
  });

  it('resolves gamma: "scale" = 1 / (d · Var(X)), "auto" = 1 / d, or a number; constant data gives gamma 1', async () => {
    let mean = 0;
    for (const v of X.data) mean += v / X.data.length;
    let v2 = 0;
    for (const v of X.data) v2 += (v - mean) ** 2 / X.data.length;
    const scale = new OneClassSVM({ gamma: 'scale' });
    await scale.fit(X);
    expect(scale.gamma).toBeCloseTo(1 / (4 * v2), 12);
    const auto = new OneClassSVM({ gamma: 'auto' });
    await auto.fit(X);
    expect(auto.gamma).toBe(0.25);
    const fixed = new OneClassSVM({ gamma: 0.7 });
    await fixed.fit(X);
    expect(fixed.gamma).toBe(0.7);
    const constant = new OneClassSVM();
    const report = await constant.fit(new Matrix(20, 3).clone());
    expect(constant.gamma).toBe(1);
    expect(report.converged).toBe(true);
    expect((await constant.decisionFunction(new Matrix(2, 3))).every(Number.isFinite)).toBe(true);
  });

  it('shrinking, the cache size and the tolerance change the work, not the answer', async () => {
    const base = new OneClassSVM({ nu: 0.3 });
    const baseReport = await base.fit(X);
    const ref = await base.decisionFunction(X);
    // A tiny cache (a few columns) evicts constantly but computes the same values: same path.
    const tinyCache = new OneClassSVM({ nu: 0.3, cacheSizeMb: 0.001 });
    await tinyCache.fit(X);
    expect(Array.from(await tinyCache.decisionFunction(X))).toEqual(Array.from(ref));
    const noShrink = new OneClassSVM({ nu: 0.3, shrinking: false });
    await noShrink.fit(X);
    const other = await noShrink.decisionFunction(X);
    for (const [i, v] of Array.from(ref).entries()) expect(Math.abs(other[i]! - v)).toBeLessThan(1e-2);
    const loose = new OneClassSVM({ nu: 0.3, tol: 0.1 });
    const looseReport = await loose.fit(X);
    expect(looseReport.iterations).toBeLessThan(baseReport.iterations as number);
  });

  it('reports a solver stopped by maxIter', async () => {
    const m = new OneClassSVM({ nu: 0.3, maxIter: 3 });
    const report = await m.fit(X);
    expect(report.converged).toBe(false);
    expect(report.iterations).toBe(3);
    expect(report.notes).toEqual([expect.stringContaining('maxIter')]);
  });

  it('handles duplicated rows and a constant column', async () => {
    const rows = [
      ...Array.from({ length: 10 }, () => [1, 2, 5]),
      ...Array.from({ length: 10 }, (_, i) => [i / 5, 1, 5]),
    ];
    const m = new OneClassSVM({ gamma: 'auto', nu: 0.5 });
    await m.fit(Matrix.fromRows(rows));
    const s = await m.score(
      Matrix.fromRows([
        [1, 2, 5],
        [9, 9, 5],
      ]),
    );
    expect(s.every(Number.isFinite)).toBe(true);
    expect(s[1]).toBeGreaterThan(s[0]!);
  });

  it('uses the SVM boundary as the default threshold, or a contamination fraction', async () => {
    const auto = new OneClassSVM({ nu: 0.1 });
    await auto.fit(X);
    expect(auto.threshold).toMatchObject({ value: 0, split: 'none' });
    const fraction = new OneClassSVM({ nu: 0.1, contamination: 0.05 });
    await fraction.fit(X);
    expect(fraction.threshold!.split).toBe('train');
  });

  it('validates its parameters, naming them', () => {
    expect(() => new OneClassSVM({ nu: 0 })).toThrow(/params\.nu/);
    expect(() => new OneClassSVM({ nu: 1.5 })).toThrow(/params\.nu/);
    expect(() => new OneClassSVM({ gamma: -1 })).toThrow(/params\.gamma/);
    expect(() => new OneClassSVM({ kernel: 'laplace' as 'rbf' })).toThrow(/params\.kernel/);
    expect(() => new OneClassSVM({ degree: 1.5 })).toThrow(/params\.degree/);
    expect(() => new OneClassSVM({ cacheSizeMb: 0 })).toThrow(/params\.cacheSizeMb/);
    expect(() => new OneClassSVM().supportVectors).toThrow(NotFittedError);
  });
});
