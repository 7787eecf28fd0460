import { readFileSync } from 'node:fs';
import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from './engine';
import { batchNormBackward, batchNormForward, lossGradient, simdAvailable, useSimdKernels } from './kernels';
import { mlpLayers, Network } from './network';
import { ParamLayout } from './trainer';

/** PyTorch's values for Linear → BatchNorm1d → ReLU → mask → Linear (scripts/batch-norm-reference.py). */
interface Reference {
  momentum: number;
  eps: number;
  params: Record<'W1' | 'b1' | 'gamma' | 'beta' | 'W2' | 'b2', number[] | number[][]>;
  batches: Array<{ x: number[][]; mask: number[][]; target: number[][] }>;
  loss: number;
  output: number[][];
  grads: Record<'W1' | 'b1' | 'gamma' | 'beta' | 'W2' | 'b2', number[] | number[][]>;
  running: Array<{ mean: number[]; var: number[] }>;
  eval: { x: number[][]; output: number[][] };
}

const ref = JSON.parse(
  readFileSync(new URL('../fixtures/batch-norm-reference.json', import.meta.url), 'utf8'),
) as Reference;

const flatten = (v: number[] | number[][]): number[] =>
  Array.isArray(v[0]) ? (v as number[][]).flat() : (v as number[]);
const t2 = (v: number[][]) => tf.tensor2d(v);

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol: number) {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    expect(Math.abs(actual[k]! - expected[k]!)).toBeLessThan(tol * Math.max(1, Math.abs(expected[k]!)));
  }
}

/** Runs the reference case through the hand-written training step and the folded inference. */
function runCase() {
  const net = new Network('t', mlpLayers([5, 8, 3], { norm: false, batchNorm: true, dropout: 0.25 }));
  const layout = new ParamLayout([net]);
  expect(net.params.map((p) => p.name)).toEqual([
    't.0.W',
    't.0.b',
    't.0.gamma',
    't.0.beta',
    't.1.W',
    't.1.b',
  ]);
  const flat = tf.tensor1d([
    ...flatten(ref.params.W1),
    ...flatten(ref.params.b1),
    ...flatten(ref.params.gamma),
    ...flatten(ref.params.beta),
    ...flatten(ref.params.W2),
    ...flatten(ref.params.b2),
  ]);
  const { P, Wt } = layout.views(flat, true)[0]!;
  const stats0 = layout.statTensors(layout.initialStats())[0]!;
  const [b1, b2] = ref.batches as [Reference['batches'][0], Reference['batches'][0]];
  const x1 = t2(b1.x);
  const first = net.forwardTrain(x1, tf.transpose(x1), P, [t2(b1.mask)], { stats: stats0 });
  const { dPred, acc } = lossGradient(first.out, t2(b1.target), tf.zeros([1]), {
    kind: 'mse',
    gradScale: 1 / (6 * 3),
    accScale: 1 / 3,
    margin: 0,
  });
  const grads = net.backward(first.caches, dPred, Wt, false).grads.map((g) => g.dataSync());
  const x2 = t2(b2.x);
  const second = net.forwardTrain(x2, tf.transpose(x2), P, [t2(b2.mask)], { stats: first.stats });
  const folded = net.inferenceParams(P, second.stats);
  const evalOut = net.forward(t2(ref.eval.x), folded, undefined, false);
  const evalDiff = net.forward(t2(ref.eval.x), folded);
  return {
    output: first.out.dataSync(),
    loss: acc.dataSync()[0]! / 6,
    grads,
    running: [first.stats[0]!.dataSync(), second.stats[0]!.dataSync()],
    evalOut: evalOut.dataSync(),
    evalDiff: evalDiff.dataSync(),
  };
}

describe('batch normalisation in the training step, against PyTorch', () => {
  for (const [backend, simd] of [
    ['cpu', false],
    ['wasm', false],
    ['wasm', true],
  ] as const) {
    it(`forward, gradients, running statistics and eval mode on ${backend}${simd ? ' (SIMD kernels)' : ''}`, async () => {
      await initBackend(backend);
      useSimdKernels(simd);
      try {
        const r = runCase();
        expectClose(r.output, ref.output.flat(), 1e-4);
        expect(r.loss).toBeCloseTo(ref.loss, 5);
        const names = ['W1', 'b1', 'gamma', 'beta', 'W2', 'b2'] as const;
        names.forEach((name, k) => {
          // b1 is exactly 0 in theory (a bias before batch norm); PyTorch's and ours are rounding noise.
          expectClose(r.grads[k]!, flatten(ref.grads[name]), name === 'b1' ? 1e-6 : 1e-4);
        });
        expectClose(r.running[0]!, [...ref.running[0]!.mean, ...ref.running[0]!.var], 1e-5);
        expectClose(r.running[1]!, [...ref.running[1]!.mean, ...ref.running[1]!.var], 1e-5);
        expectClose(r.evalOut, ref.eval.output.flat(), 1e-4);
        expectClose(r.evalDiff, ref.eval.output.flat(), 1e-4);
      } finally {
        useSimdKernels(true);
      }
    });
  }

  it('refuses unfolded batch-norm parameters at inference, and LayerNorm with batch norm', async () => {
    await initBackend('cpu');
    const net = new Network('t', mlpLayers([3, 4, 2], { norm: false, batchNorm: true, dropout: 0 }));
    const layout = new ParamLayout([net]);
    const { P } = layout.views(tf.zeros([layout.size]), false)[0]!;
    expect(() => net.forward(tf.zeros([2, 3]), P)).toThrow(/fold batch norm/);
    expect(() => mlpLayers([3, 4, 2], { norm: true, batchNorm: true, dropout: 0 })).toThrow(/not both/);
    expect(() => net.forwardTrain(tf.zeros([2, 3]), tf.zeros([3, 2]), P, [])).toThrow(
      /1 running statistics expected, 0 given/,
    );
  });

  it('the wasm-SIMD kernels match the JS loops: every variant, column blocks and tails, one row', async () => {
    await initBackend('wasm');
    const rng = new Rng(5);
    const rand = (r: number, c: number, f = () => rng.normal() * 3 + 1) =>
      tf.tensor2d(new Float32Array(r * c).map(f), [r, c]);
    let differs = false;
    const close = (a: tf.Tensor, b: tf.Tensor) => {
      const x = a.dataSync();
      const y = b.dataSync();
      expect(a.shape).toEqual(b.shape);
      let worst = 0;
      for (let i = 0; i < x.length; i++) {
        worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
        if (x[i] !== y[i]) differs = true;
      }
      expect(worst).toBeLessThan(2e-4);
    };
    for (const [rows, cols] of [
      [1, 8],
      [5, 12],
      [37, 68],
      [256, 64],
    ] as const) {
      const z = rand(rows, cols);
      const gamma = rand(1, cols, () => rng.uniform(0.5, 1.5)).reshape([cols]);
      const beta = rand(1, cols, () => rng.uniform(-0.5, 0.5)).reshape([cols]);
      const running = rand(2, cols, () => rng.uniform(0.5, 2));
      const mask = rand(rows, cols, () => (rng.uniform(0, 1) < 0.25 ? 0 : 4 / 3));
      const dA = rand(rows, cols);
      for (const relu of [false, true]) {
        for (const withMask of [false, true]) {
          const run = (simd: boolean) => {
            useSimdKernels(simd);
            try {
              expect(simdAvailable()).toBe(simd);
              const f = batchNormForward(z, gamma, beta, running, withMask ? mask : null, {
                relu,
                eps: 1e-5,
                momentum: 0.1,
                transposeOut: true,
              });
              const b = batchNormBackward(dA, f.gate, f.xhat, f.rstd, gamma);
              return [
                f.a,
                f.aT!,
                ...(f.gate ? [f.gate] : []),
                f.xhat,
                f.rstd,
                f.running,
                b.dz,
                b.db,
                b.dGamma,
                b.dBeta,
              ];
            } finally {
              useSimdKernels(true);
            }
          };
          const js = run(false);
          const simd = run(true);
          expect(simd.length).toBe(js.length);
          for (const [k, t] of simd.entries()) close(t, js[k]!);
        }
      }
    }
    // The SIMD path ran (float32 sums in another order than the JS loops' float64 ones).
    expect(differs).toBe(true);
  });
});
