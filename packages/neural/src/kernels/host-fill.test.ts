import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../engine';
import { useCopyKernels } from './define';
import { hostTensors } from './host-fill';

/** Writes 100·(output index) + (value index) into every output. */
const numbered = (outs: readonly Float32Array[]) => {
  outs.forEach((o, i) => {
    for (let k = 0; k < o.length; k++) o[k] = 100 * i + k;
  });
};
const expected = (shapes: number[][]) =>
  shapes.map((s, i) => Array.from({ length: s[0]! * s[1]! }, (_, k) => 100 * i + k));

describe('hostTensors', () => {
  for (const [backend, copy] of [
    ['wasm', false],
    ['cpu', false],
    ['wasm', true],
  ] as const) {
    it(`returns what the host wrote, in order, with its shapes (${backend}${copy ? ', copy path' : ''})`, async () => {
      await initBackend(backend);
      useCopyKernels(copy);
      try {
        const shapes = [
          [3, 5],
          [3, 2],
          [1, 7],
        ];
        const before = tf.memory().numTensors;
        const out = hostTensors(shapes, numbered);
        expect(out.map((t) => t.shape)).toEqual(shapes);
        expect(out.map((t) => Array.from(t.dataSync()))).toEqual(expected(shapes));
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        useCopyKernels(false);
      }
    });
  }

  it('makes no tensor and does not call the host for no shapes', async () => {
    await initBackend('wasm');
    let calls = 0;
    expect(
      hostTensors([], () => {
        calls++;
      }),
    ).toEqual([]);
    expect(calls).toBe(0);
  });
});
