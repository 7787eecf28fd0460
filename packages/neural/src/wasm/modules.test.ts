import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@anomalia/core';
import { compileModule, WASM_ENV } from '@anomalia/wasm-kit';
import { moduleDigests } from '@anomalia/wasm-kit/testing';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../engine';
import { matMulInPlace, simdAvailable, useSimdKernels } from '../kernels';
import { WASM_MODULES } from '../simd';

/**
 * The bytes of every module, pinned: a kernel's machine code changes only on purpose (update the
 * hash in the same commit and say why). The functions of these modules were proven identical,
 * instruction for instruction, to those of the hand-assembled module they replaced.
 */
const GOLDEN_SHA256: Record<string, string> = {
  '@anomalia/neural gemm': 'b49ec17a68f26b0aeed37c8cb9773863354d50a0b5043490d0a6c47f99dac3c8',
  '@anomalia/neural dense-block': 'eda2c54da477704dab7faaa7348efb03796f11622c03e9d800aeb842372ac039',
  '@anomalia/neural optimiser': 'daef0cea717c95b663a7620321dec0938cd0e94b5dd83558303abdfa3e7a2338',
  '@anomalia/neural loss': 'eaf77b531a326f1a9c56cc7244bfaceae595fe690c3bb8de0617be3433c77a24',
  '@anomalia/neural transpose': '844c493f291326de56a5b4c2624aa8c779038ef04e38aed0ca4a15755b2a0fbf',
  // Batch norm in training mode (forward with the running statistics, backward).
  '@anomalia/neural batch-norm': 'c4573488c4f015ae60feefddf9384064d0a20491d76f7e4e708996f29d53bfd3',
};

describe('the WebAssembly modules', () => {
  it('are byte for byte the pinned ones', () => {
    expect(moduleDigests(WASM_MODULES)).toEqual(GOLDEN_SHA256);
  });

  it('compile on this engine', () => {
    for (const m of WASM_MODULES) expect(compileModule(m), m.name).not.toBeNull();
  });

  it(`${WASM_ENV}=off runs the JavaScript kernels on the wasm backend, with the same results`, async () => {
    const rng = new Rng(3);
    const [m, k, n] = [9, 13, 74];
    const a = Array.from({ length: m * k }, () => rng.normal());
    const b = Array.from({ length: k * n }, () => rng.normal());
    // In a fresh process: the variable is read when the modules are first compiled.
    const script = join(tmpdir(), `neural-wasm-off-${process.pid}.mts`);
    const src = (f: string) => JSON.stringify(fileURLToPath(new URL(f, import.meta.url)));
    writeFileSync(
      script,
      `import { initBackend, tf } from ${src('../engine.ts')};
import { matMulInPlace, simdAvailable } from ${src('../kernels/index.ts')};
await initBackend('wasm');
const out = matMulInPlace(tf.tensor2d(${JSON.stringify(a)}, [${m}, ${k}]), tf.tensor2d(${JSON.stringify(b)}, [${k}, ${n}]));
console.log(JSON.stringify({ backend: tf.getBackend(), simd: simdAvailable(), out: Array.from(out.dataSync()) }));
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, [WASM_ENV]: 'off' },
    });
    expect(run.stderr).toBe('');
    const off = JSON.parse(run.stdout) as { backend: string; simd: boolean; out: number[] };
    expect(off.backend).toBe('wasm');
    expect(off.simd).toBe(false);

    await initBackend('wasm');
    const A = tf.tensor2d(a, [m, k]);
    const B = tf.tensor2d(b, [k, n]);
    expect(simdAvailable()).toBe(true);
    useSimdKernels(false);
    try {
      expect(Array.from(matMulInPlace(A, B).dataSync())).toEqual(off.out);
    } finally {
      useSimdKernels(true);
    }
  });
});
