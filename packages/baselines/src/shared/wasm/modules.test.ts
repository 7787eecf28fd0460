import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Matrix, Rng } from '@anomalia/core';
import { compileModule, WASM_ENV } from '@anomalia/wasm-kit';
import { moduleDigests } from '@anomalia/wasm-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalOutlierFactor, OneClassSVM } from '../../index';
import { setSimdEnabled, simdAvailable, WASM_MODULES } from '../simd-dots';

/**
 * The bytes of every module, pinned: a kernel's machine code changes only on purpose (update the
 * hash in the same commit and say why). The functions of these modules were proven identical,
 * instruction for instruction, to those of the hand-assembled module they replaced.
 */
const GOLDEN_SHA256: Record<string, string> = {
  '@anomalia/baselines dots': 'ad0af2a5763389a8ca6a00b711f4f12443773b410ed34935dd460ea2bec171ed',
  '@anomalia/baselines screen': 'b581774461aac6278917baa85b3219de18fb52e25c9c1811b9f8603bea1abb47',
};

afterEach(() => setSimdEnabled(true));

describe('the WebAssembly modules', () => {
  it('are byte for byte the pinned ones', () => {
    expect(moduleDigests(WASM_MODULES)).toEqual(GOLDEN_SHA256);
  });

  it('compile on this engine', () => {
    for (const m of WASM_MODULES) expect(compileModule(m), m.name).not.toBeNull();
  });

  it(`${WASM_ENV}=off runs the JavaScript paths, with their results`, async () => {
    const rng = new Rng(5);
    const [rows, cols] = [300, 8];
    const data = Array.from({ length: rows * cols }, () => rng.normal());
    // In a fresh process: the variable is read when the modules are first compiled.
    const script = join(tmpdir(), `baselines-wasm-off-${process.pid}.mts`);
    const path = (f: string) => JSON.stringify(fileURLToPath(new URL(f, import.meta.url)));
    writeFileSync(
      script,
      `import { Matrix } from ${JSON.stringify(import.meta.resolve('@anomalia/core'))};
import { LocalOutlierFactor, OneClassSVM } from ${path('../../index.ts')};
import { simdAvailable } from ${path('../simd-dots.ts')};
const X = new Matrix(${rows}, ${cols}, Float64Array.from(${JSON.stringify(data)}));
const lof = new LocalOutlierFactor({ nNeighbors: 10, novelty: true });
await lof.fit(X);
const svm = new OneClassSVM({ kernel: 'rbf', gamma: 0.125, nu: 0.5 });
await svm.fit(X);
console.log(JSON.stringify({ simd: simdAvailable(), lof: Array.from(await lof.score(X)), svm: Array.from(await svm.score(X)) }));
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, [WASM_ENV]: 'off' },
    });
    expect(run.stderr).toBe('');
    const off = JSON.parse(run.stdout) as { simd: boolean; lof: number[]; svm: number[] };
    expect(off.simd).toBe(false);

    expect(simdAvailable()).toBe(true);
    setSimdEnabled(false);
    const X = new Matrix(rows, cols, Float64Array.from(data));
    const lof = new LocalOutlierFactor({ nNeighbors: 10, novelty: true });
    await lof.fit(X);
    const svm = new OneClassSVM({ kernel: 'rbf', gamma: 0.125, nu: 0.5 });
    await svm.fit(X);
    expect(Array.from(await lof.score(X))).toEqual(off.lof);
    expect(Array.from(await svm.score(X))).toEqual(off.svm);
  });
});
