import { Rng } from '@anomalia/core';
import { createMemory } from '@anomalia/wasm-kit';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from './engine';
import {
  adamStep,
  blockBackward,
  blockForward,
  lossGradient,
  matMulInPlace,
  pieces,
  reparameterise,
  reparameteriseBackward,
  useCopyKernels,
  useSimdKernels,
} from './kernels';
import { fillDropoutMask, mlpLayers, Network, setKernelMaxValues } from './network';
import { simdKernels } from './simd';
import { ParamLayout } from './trainer';

/** The hand-written backward pass against TensorFlow.js autodiff of the same loss, and finite differences. */
async function gradientCase(backend: 'cpu' | 'wasm', dims: number[] = [5, 7, 4, 1]) {
  await initBackend(backend);
  const rng = new Rng(3);
  const rows = 6;
  const net = new Network('t', mlpLayers(dims, { norm: true, dropout: 0.25 }));
  const layout = new ParamLayout([net]);
  const flat = new Float32Array(layout.size);
  net.initialise(flat, rng);
  // Non-trivial γ/β so LayerNorm's affine part is exercised.
  for (const p of net.params) {
    if (p.name.endsWith('gamma') || p.name.endsWith('beta')) {
      for (let k = 0; k < p.size; k++)
        flat[p.offset + k] = rng.uniform(0.5, 1.5) * (p.name.endsWith('beta') ? 0.3 : 1);
    }
  }
  const X = new Float32Array(rows * dims[0]!).map(() => rng.normal());
  const Y = new Float32Array(rows).map(() => rng.uniform(0, 3));
  const masks = net.layers
    .filter((l) => l.dropout > 0)
    .map((l) =>
      tf.tensor2d(fillDropoutMask(new Float32Array(rows * l.outputs), l.dropout, rng), [rows, l.outputs]),
    );
  const x = tf.tensor2d(X, [rows, dims[0]!]);
  const y = tf.tensor2d(Y, [rows, 1]);
  const flatT = tf.tensor1d(flat);
  const { P, Wt } = layout.views(flatT, true)[0]!;
  const { out, caches } = net.forwardTrain(x, tf.transpose(x), P!, masks);
  const { dPred } = lossGradient(out, y, tf.zeros([1]), {
    kind: 'mse',
    gradScale: 1 / rows,
    accScale: 1,
    margin: 0,
  });
  const manual = net.backward(caches, dPred, Wt!, true);
  const manualFlat = tf.concat(manual.grads.map((g) => tf.reshape(g, [-1]))).dataSync();
  // Autodiff of the differentiable forward with the same masks.
  const loss = (f: tf.Tensor) => {
    const views = net.params.map((p) => tf.reshape(tf.slice(f, [p.offset], [p.size]), p.shape));
    const pred = net.forward(x, net.layerParams(views), masks);
    return tf.mean(tf.square(tf.sub(pred, y)));
  };
  const auto = tf.grad(loss)(flatT).dataSync();
  const autoX = tf
    .grad((xi: tf.Tensor) => {
      const views = net.params.map((p) => tf.reshape(tf.slice(flatT, [p.offset], [p.size]), p.shape));
      return tf.mean(tf.square(tf.sub(net.forward(xi as tf.Tensor2D, net.layerParams(views), masks), y)));
    })(x)
    .dataSync();
  // Central finite differences on a few coordinates (float32: a loose tolerance).
  const fd = (k: number) => {
    const h = 1e-2;
    const plus = flat.slice();
    const minus = flat.slice();
    plus[k]! += h;
    minus[k]! -= h;
    const lp = loss(tf.tensor1d(plus)).dataSync()[0]!;
    const lm = loss(tf.tensor1d(minus)).dataSync()[0]!;
    return (lp - lm) / (2 * h);
  };
  return { manualFlat, auto, autoX, dX: manual.dX!.dataSync(), fd, flat };
}

describe('hand-written backward pass', () => {
  for (const [backend, dims] of [
    ['cpu', [5, 7, 4, 1]],
    ['wasm', [5, 7, 4, 1]],
    // Widths that are multiples of 4 run the wasm-SIMD dense-block kernels.
    ['wasm', [6, 8, 12, 1]],
  ] as const) {
    it(`matches autodiff and finite differences on ${backend}, layers ${dims.join('-')}`, async () => {
      const r = await gradientCase(backend, [...dims]);
      expect(r.manualFlat.length).toBe(r.auto.length);
      let maxErr = 0;
      let maxMag = 0;
      for (let k = 0; k < r.auto.length; k++) {
        maxErr = Math.max(maxErr, Math.abs(r.manualFlat[k]! - r.auto[k]!));
        maxMag = Math.max(maxMag, Math.abs(r.auto[k]!));
      }
      expect(maxMag).toBeGreaterThan(1e-3);
      expect(maxErr).toBeLessThan(1e-4 * Math.max(1, maxMag));
      for (let k = 0; k < r.dX.length; k++) expect(r.dX[k]!).toBeCloseTo(r.autoX[k]!, 4);
      for (const k of [0, 7, 40, r.flat.length - 1]) {
        expect(Math.abs(r.fd(k) - r.manualFlat[k]!)).toBeLessThan(
          2e-2 * Math.max(1, Math.abs(r.manualFlat[k]!)),
        );
      }
    });
  }

  it('the tf-ops block path (wasm without the SIMD kernels) gives the same gradients as autodiff', async () => {
    setKernelMaxValues(0);
    useSimdKernels(false);
    try {
      const r = await gradientCase('wasm', [5, 8, 4, 1]);
      for (let k = 0; k < r.auto.length; k++) expect(r.manualFlat[k]!).toBeCloseTo(r.auto[k]!, 4);
      for (let k = 0; k < r.dX.length; k++) expect(r.dX[k]!).toBeCloseTo(r.autoX[k]!, 4);
    } finally {
      setKernelMaxValues(4096);
      useSimdKernels(true);
    }
  });

  it('the wasm-SIMD GEMM, transposes and dense blocks match the JS loops and tf ops', async () => {
    await initBackend('wasm');
    const rng = new Rng(11);
    const rand = (r: number, c: number) =>
      tf.tensor2d(
        new Float32Array(r * c).map(() => rng.normal()),
        [r, c],
      );
    const close = (a: tf.Tensor, b: tf.Tensor, tol = 1e-4) => {
      const x = a.dataSync();
      const y = b.dataSync();
      expect(a.shape).toEqual(b.shape);
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(tol);
    };
    // GEMM: every edge (rows mod 4, columns mod 8 and mod 4), with and without bias.
    for (const [m, k, n] of [
      [1, 1, 1],
      [5, 3, 7],
      [9, 13, 17],
      [8, 16, 12],
      [7, 2, 74],
    ] as const) {
      const a = rand(m, k);
      const b = rand(k, n);
      const bias = tf.tensor1d(new Float32Array(n).map(() => rng.normal()));
      close(matMulInPlace(a, b), tf.matMul(a, b));
      close(matMulInPlace(a, b, bias), tf.add(tf.matMul(a, b), bias));
    }
    // Pieces with transposes (odd shapes: vector blocks plus scalar edges).
    const flat = tf.tensor1d(new Float32Array(400).map(() => rng.normal()));
    const shapes = [[7, 9], [3], [8, 12], [5, 6]];
    const simd = pieces(flat, 5, shapes, [0, 2, 3]);
    useSimdKernels(false);
    const js = pieces(flat, 5, shapes, [0, 2, 3]);
    useSimdKernels(true);
    simd.forEach((t, i) => {
      expect(Array.from(t.dataSync())).toEqual(Array.from(js[i]!.dataSync()));
    });
    // Dense blocks, every variant, 5 rows × 12 columns.
    const z = rand(5, 12);
    const gamma = tf.tensor1d(new Float32Array(12).map(() => rng.uniform(0.5, 1.5)));
    const beta = tf.tensor1d(new Float32Array(12).map(() => rng.normal()));
    const mask = tf.tensor2d(fillDropoutMask(new Float32Array(60), 0.3, rng), [5, 12]);
    const dA = rand(5, 12);
    for (const norm of [false, true]) {
      for (const relu of [false, true]) {
        for (const withMask of [false, true]) {
          for (const keep of [false, true]) {
            const run = () => {
              const f = blockForward(
                norm ? z : z,
                norm ? gamma : null,
                norm ? beta : null,
                withMask ? mask : null,
                {
                  relu,
                  eps: 1e-5,
                  transposeOut: true,
                  keep,
                },
              );
              const outs = [f.a, f.aT!, f.gate, f.xhat, f.rstd].filter(
                (t): t is tf.Tensor2D => t !== undefined,
              );
              if (!keep) return outs;
              const b = blockBackward(dA, f.gate, norm ? { xhat: f.xhat!, rstd: f.rstd!, gamma } : null);
              return [...outs, b.dz, b.db, ...(norm ? [b.dGamma!, b.dBeta!] : [])];
            };
            const fast = run();
            useSimdKernels(false);
            const slow = run();
            useSimdKernels(true);
            expect(fast.length).toBe(slow.length);
            fast.forEach((t, i) => {
              close(t, slow[i]!);
            });
          }
        }
      }
    }
  });

  it('the wasm-SIMD GEMM sums float32 products in k order, with b at the very end of the memory', () => {
    // Its own memory: b's last row ends at the memory's end, so the column tail (N mod 4) must take
    // the scalar path (the vector tail reads past b); elsewhere it takes the vector tail.
    const memory = createMemory(1);
    const sk = simdKernels(memory)!;
    expect(sk).not.toBeNull(); // Node ≥ 20 runs wasm SIMD
    const heap = new Float32Array(memory.buffer);
    const rng = new Rng(7);
    for (const [m, k, n, atEnd] of [
      [6, 5, 7, true],
      [6, 5, 7, false],
      [9, 13, 74, false],
      [5, 3, 17, true],
    ] as const) {
      const a = 0;
      const b = atEnd ? heap.length - k * n : 4096;
      const out = 8192;
      for (let i = 0; i < m * k; i++) heap[a + i] = rng.normal();
      for (let i = 0; i < k * n; i++) heap[b + i] = rng.normal();
      sk.gemm(4 * a, 4 * b, 0, 4 * out, m, k, n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++)
            sum = Math.fround(sum + Math.fround(heap[a + i * k + p]! * heap[b + p * n + j]!));
          expect(heap[out + i * n + j]).toBe(sum);
        }
    }
  });

  it('the copying kernel path (backends without registered kernels, e.g. tfjs-node) gives the same gradients', async () => {
    const inPlace = await gradientCase('cpu');
    useCopyKernels(true);
    try {
      const copied = await gradientCase('cpu');
      expect(Array.from(copied.manualFlat)).toEqual(Array.from(inPlace.manualFlat));
    } finally {
      useCopyKernels(false);
    }
  });

  it('VAE reparameterisation with log σ² clipped (PyOD logvar_clip) matches autodiff of the clipped loss', async () => {
    await initBackend('cpu');
    const rng = new Rng(6);
    const rows = 5;
    const L = 2;
    const head = tf.tensor2d(
      new Float32Array(rows * 2 * L).map(() => rng.normal(0, 1)),
      [rows, 2 * L],
    );
    const noise = tf.tensor2d(
      new Float32Array(rows * L).map(() => rng.normal()),
      [rows, L],
    );
    const target = tf.tensor2d(
      new Float32Array(rows * L).map(() => rng.normal()),
      [rows, L],
    );
    const clip: [number, number] = [-0.4, 0.3];
    const lvs = tf.slice(head, [0, L], [-1, L]).dataSync();
    // Some log σ² on each side of the clip and some inside, so every branch is exercised.
    expect(
      lvs.some((v) => v < clip[0]) &&
        lvs.some((v) => v > clip[1]) &&
        lvs.some((v) => v > clip[0] && v < clip[1]),
    ).toBe(true);
    const beta = 0.5;
    const lossOf = (h: tf.Tensor) => {
      const mu = tf.slice(h, [0, 0], [-1, L]);
      const lv = tf.clipByValue(tf.slice(h, [0, L], [-1, L]), clip[0], clip[1]);
      const z = tf.add(mu, tf.mul(noise, tf.exp(tf.mul(lv, 0.5))));
      const rec = tf.sum(tf.square(tf.sub(z, target)), 1);
      const kl = tf.mul(tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(lv)), tf.add(lv, 1)), 1), 0.5);
      return tf.mean(tf.add(rec, tf.mul(kl, beta)));
    };
    const auto = tf.grad(lossOf)(head).dataSync();
    const { z } = reparameterise(head, noise, L, clip);
    const { dPred } = lossGradient(z, target, tf.zeros([1]), {
      kind: 'mse',
      gradScale: 1 / rows,
      accScale: 1,
      margin: 0,
    });
    const { dHead, acc } = reparameteriseBackward(
      dPred,
      head,
      noise,
      lossGradient(z, target, tf.zeros([1]), { kind: 'mse', gradScale: 1 / rows, accScale: 1, margin: 0 })
        .acc,
      {
        latent: L,
        beta,
        scale: 1 / rows,
        logVarClip: clip,
      },
    );
    const manual = dHead.dataSync();
    for (let k = 0; k < auto.length; k++) expect(manual[k]!).toBeCloseTo(auto[k]!, 4);
    expect(acc.dataSync()[0]! / rows).toBeCloseTo(lossOf(head).dataSync()[0]!, 4);
  });

  it('VAE reparameterisation and KL gradients match autodiff', async () => {
    await initBackend('cpu');
    const rng = new Rng(5);
    const rows = 4;
    const L = 3;
    const head = tf.tensor2d(
      new Float32Array(rows * 2 * L).map(() => rng.normal(0, 0.5)),
      [rows, 2 * L],
    );
    const noise = tf.tensor2d(
      new Float32Array(rows * L).map(() => rng.normal()),
      [rows, L],
    );
    const target = tf.tensor2d(
      new Float32Array(rows * L).map(() => rng.normal()),
      [rows, L],
    );
    const beta = 0.7;
    const lossOf = (h: tf.Tensor) => {
      const mu = tf.slice(h, [0, 0], [-1, L]);
      const lv = tf.slice(h, [0, L], [-1, L]);
      const z = tf.add(mu, tf.mul(noise, tf.exp(tf.mul(lv, 0.5))));
      const rec = tf.sum(tf.square(tf.sub(z, target)), 1);
      const kl = tf.mul(tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(lv)), tf.add(lv, 1)), 1), 0.5);
      return tf.mean(tf.add(rec, tf.mul(kl, beta)));
    };
    const auto = tf.grad(lossOf)(head).dataSync();
    const { z, zT } = reparameterise(head, noise, L);
    expect(Array.from(zT.dataSync())).toEqual(Array.from(tf.transpose(z).dataSync()));
    const { dPred } = lossGradient(z, target, tf.zeros([1]), {
      kind: 'mse',
      gradScale: 1 / rows,
      accScale: 1,
      margin: 0,
    });
    const { dHead, acc } = reparameteriseBackward(dPred, head, noise, tf.zeros([1]), {
      latent: L,
      beta,
      scale: 1 / rows,
    });
    const manual = dHead.dataSync();
    for (let k = 0; k < auto.length; k++) expect(manual[k]!).toBeCloseTo(auto[k]!, 4);
    expect(acc.dataSync()[0]! / rows).toBeGreaterThan(0);
  });

  it('the contrastive loss gradient matches autodiff', async () => {
    await initBackend('wasm');
    const E = tf.tensor2d([[0.2], [1.4], [-0.3], [0.9]]);
    const y = tf.tensor2d([[0], [1], [1], [0]]);
    const margin = 1;
    const auto = tf
      .grad((e: tf.Tensor) =>
        tf.mean(tf.add(tf.mul(tf.sub(1, y), e), tf.mul(y, tf.relu(tf.sub(margin, e))))),
      )(E)
      .dataSync();
    const { dPred, acc } = lossGradient(E, y, tf.zeros([1]), {
      kind: 'contrastive',
      gradScale: 1 / 4,
      accScale: 1,
      margin,
    });
    expect(Array.from(dPred.dataSync())).toEqual(Array.from(auto).map((v) => expect.closeTo(v, 6)));
    expect(acc.dataSync()[0]!).toBeCloseTo(0.2 + 0 + 1.3 + 0.9, 5);
  });

  it('the Adam kernel follows PyTorch AdamW with clipping', async () => {
    await initBackend('wasm');
    const p = tf.tensor1d([1, -2, 0.5]);
    const g = tf.tensor1d([3, 4, 0]);
    const [p1, m1, v1] = adamStep(p, tf.zeros([3]), tf.zeros([3]), [g], {
      kind: 'adamw',
      learningRate: 0.1,
      weightDecay: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      clipNorm: 1,
      step: 1,
    });
    // Clipped g = [0.6, 0.8, 0]; first step: update = lr·sign(g) (bias-corrected), decay p·(1 − lr·wd).
    const expected = [1 * (1 - 0.001) - 0.1, -2 * (1 - 0.001) - 0.1, 0.5 * (1 - 0.001)];
    Array.from(p1.dataSync()).forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 5);
    });
    expect(m1.dataSync()[0]!).toBeCloseTo(0.06, 6);
    expect(v1.dataSync()[1]!).toBeCloseTo(0.001 * 0.64, 7);
  });

  it('the wasm-SIMD Adam matches the JS loop (odd sizes included), with and without clipping', async () => {
    await initBackend('wasm');
    const rng = new Rng(8);
    const sizes = [37, 4, 1, 130];
    const total = sizes.reduce((a, b) => a + b, 0);
    const rand = (n: number, s = 1) => new Float32Array(n).map(() => rng.normal(0, s));
    const p = tf.tensor1d(rand(total));
    const m = tf.tensor1d(rand(total, 0.1));
    const v = tf.tensor1d(rand(total, 0.1).map(Math.abs));
    const grads = sizes.map((n) => tf.tensor1d(rand(n, 3)));
    for (const [kind, clipNorm] of [
      ['adamw', 1],
      ['adam', 0],
    ] as const) {
      const attrs = {
        kind,
        learningRate: 0.01,
        weightDecay: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        clipNorm,
        step: 5,
      };
      useSimdKernels(false);
      const js = adamStep(p, m, v, grads, attrs).map((t) => Array.from(t.dataSync()));
      useSimdKernels(true);
      const simd = adamStep(p, m, v, grads, attrs).map((t) => Array.from(t.dataSync()));
      for (let o = 0; o < 3; o++) {
        for (let i = 0; i < total; i++) expect(simd[o]![i]!).toBeCloseTo(js[o]![i]!, 5);
      }
      expect(simd[0]).not.toEqual(Array.from(p.dataSync()));
    }
  });

  it('dropout masks keep about 1 − p of the units, scaled so the expected value is 1', () => {
    const m = fillDropoutMask(new Float32Array(40003), 0.2, new Rng(1));
    const kept = m.filter((v) => v > 0);
    expect(kept.length / m.length).toBeCloseTo(0.8, 2);
    expect(kept[0]).toBeCloseTo(256 / 205, 6);
    expect(m.reduce((a, b) => a + b, 0) / m.length).toBeCloseTo(1, 1);
    // Reproducible under the seed, different under another.
    expect(Array.from(fillDropoutMask(new Float32Array(64), 0.2, new Rng(1)))).toEqual(
      Array.from(m.subarray(0, 64)),
    );
    expect(Array.from(fillDropoutMask(new Float32Array(64), 0.2, new Rng(2)))).not.toEqual(
      Array.from(m.subarray(0, 64)),
    );
  });
});
