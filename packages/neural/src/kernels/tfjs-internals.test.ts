import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { initBackend, tf } from '../engine';
import { type CpuBackendInternals, type WasmBackendInternals, wasmHeap } from './tfjs-internals';

/**
 * The kernels read private TensorFlow.js internals (tfjs-internals.ts). These tests pin the
 * versions and check each internal on live backends, naming the one that moved.
 */

const require = createRequire(import.meta.url);
const installed = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

/** The failure message for an internal that no longer behaves as the kernels assume. */
const moved = (internal: string, found: unknown) =>
  `TensorFlow.js internal ${internal} moved (tfjs ${tf.version_core}): found ${String(found)}; ` +
  'update src/kernels/tfjs-internals.ts and the kernels that read it';

describe('TensorFlow.js internals read by the kernels', () => {
  it('come from exactly the pinned @tensorflow/* versions', () => {
    const declared = { ...pkg.dependencies, ...pkg.peerDependencies } as Record<string, string>;
    const tfjs = Object.entries(declared).filter(([name]) => name.startsWith('@tensorflow/'));
    expect(tfjs.map(([name]) => name).sort()).toEqual([
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-node',
    ]);
    for (const [name, range] of tfjs) {
      expect(range, `${name} must be pinned to an exact version, not ${range}`).toMatch(/^\d+\.\d+\.\d+$/);
      if (name !== '@tensorflow/tfjs-node') expect(installed(name), `installed ${name}`).toBe(range);
    }
    // The backends whose internals are read come with the pinned versions.
    const pinned = declared['@tensorflow/tfjs'];
    expect(tf.version_core, 'tfjs-core').toBe(pinned);
    expect(installed('@tensorflow/tfjs-backend-wasm'), 'tfjs-backend-wasm').toBe(pinned);
  });

  it('on the wasm backend: the heap memory, heap offsets, heap views and output allocation', async () => {
    await initBackend('wasm');
    const backend = tf.backend() as unknown as WasmBackendInternals;
    const memory = backend.wasm?.asm?.memory;
    expect(memory?.buffer instanceof ArrayBuffer, moved('WasmBackend.wasm.asm.memory', memory)).toBe(true);
    expect(typeof memory?.grow, moved('WasmBackend.wasm.asm.memory.grow', memory?.grow)).toBe('function');
    expect(wasmHeap(backend)).toBe(memory);

    const values = [1.5, -2, 3.25, 4, 5, -6.5];
    const t = tf.tensor2d(values, [2, 3]);
    const entry = backend.dataIdMap?.get(t.dataId);
    expect(typeof entry?.memoryOffset, moved('WasmBackend.dataIdMap.get(dataId).memoryOffset', entry)).toBe(
      'number',
    );
    const atOffset = new Float32Array(memory!.buffer, entry!.memoryOffset, values.length);
    expect(
      Array.from(atOffset),
      moved('WasmBackend.dataIdMap.get(dataId).memoryOffset', 'other data'),
    ).toEqual(values);

    const view = backend.typedArrayFromHeap?.(t);
    expect(view instanceof Float32Array, moved('WasmBackend.typedArrayFromHeap', view)).toBe(true);
    expect(
      view!.buffer === memory!.buffer && view!.byteOffset === entry!.memoryOffset,
      moved('WasmBackend.typedArrayFromHeap', 'a copy'),
    ).toBe(true);

    const out = backend.makeOutput?.([2, 2], 'float32');
    expect(Array.isArray(out?.shape) && out?.dataId !== undefined, moved('WasmBackend.makeOutput', out)).toBe(
      true,
    );
    expect(
      typeof backend.dataIdMap.get(out!.dataId).memoryOffset,
      moved('WasmBackend.makeOutput', 'no heap'),
    ).toBe('number');
    t.dispose();
  });

  it('on the cpu backend: the data store and tensor creation from values', async () => {
    await initBackend('cpu');
    const backend = tf.backend() as unknown as CpuBackendInternals;
    const t = tf.tensor1d([1, 2, 3]);
    const values = backend.data?.get(t.dataId)?.values;
    expect(values instanceof Float32Array, moved('MathBackendCPU.data.get(dataId).values', values)).toBe(
      true,
    );
    expect(Array.from(values!)).toEqual([1, 2, 3]);
    const data = Float32Array.from([7, 8]);
    const info = backend.makeTensorInfo?.([2], 'float32', data);
    expect(info?.dataId !== undefined, moved('MathBackendCPU.makeTensorInfo', info)).toBe(true);
    expect(backend.data.get(info!.dataId).values, moved('MathBackendCPU.makeTensorInfo', 'a copy')).toBe(
      data,
    );
  });

  it('a missing heap is an error naming the internal, not a silent fallback', () => {
    expect(() => wasmHeap({ wasm: {} } as WasmBackendInternals)).toThrow(
      /TensorFlow.js internal WasmBackend.wasm.asm.memory is missing or changed/,
    );
  });
});
