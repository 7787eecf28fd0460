/**
 * EnergyModel scoring throughput, one JSON line per (implementation, batch size), on one machine
 * in one run:
 * - onnxruntime-node: the EnergyModel exported by this package (scaler in the graph), through
 *   `OnnxDetector.score`; and the PyTorch-exported fixture of the same architecture;
 * - tfjs-wasm: the same fitted EnergyModel's own `score` (@anomalia/neural);
 * - PyTorch: scripts/torch_scoring.py (eval mode, no_grad) with /usr/bin/python3;
 * - for reference, PyTorch *training* throughput from shared/reference/torch_throughput.py.
 * The model is the seed's: d = 74 → [128, 64, 32] (Linear, LayerNorm, ReLU) → 1. Each batch size
 * is timed for at least --seconds after one warm-up call, single-threaded unless --threads.
 *
 *   pnpm --filter @anomalia/onnx bench [-- --batches 1,32,100000 --seconds 2 --threads 1]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Matrix, Rng } from '@anomalia/core';
import { sharedDir } from '@anomalia/core/testing';
import { EnergyModel, initBackend } from '@anomalia/neural';
import { env } from 'onnxruntime-node';
import { exportOnnx, loadOnnxDetector } from '../src/index';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    batches: { type: 'string', default: '1,32,100000' },
    seconds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const batches = values.batches.split(',').map(Number);
const minSeconds = Number(values.seconds);
const threads = Number(values.threads);
const D = 74;

/** One JSON line; load1 (the 1-minute load average) tells whether the machine was busy. */
const print = (line: Record<string, unknown>) =>
  console.log(JSON.stringify({ name: 'ebm-score', d: D, ...line, load1: Number(loadavg()[0]!.toFixed(2)) }));

/** Times `run` on one batch: a warm-up call, then calls until `minSeconds` and at least 3 calls. */
async function time(run: () => Promise<unknown>): Promise<{ calls: number; seconds: number }> {
  await run();
  let calls = 0;
  const start = performance.now();
  let seconds = 0;
  do {
    await run();
    calls++;
    seconds = (performance.now() - start) / 1000;
  } while (seconds < minSeconds || calls < 3);
  return { calls, seconds };
}

const rng = new Rng(0);
const normal = (rows: number) => {
  const X = new Matrix(rows, D);
  for (let k = 0; k < X.data.length; k++) X.data[k] = rng.normal();
  return X;
};

// The model: fitted briefly (its weights do not change the arithmetic), saved, exported.
const backend = await initBackend('wasm');
const train = normal(2000);
const y = Float64Array.from({ length: train.rows }, (_, i) => Math.min(3, Math.abs(train.data[i * D]!)));
const model = new EnergyModel({ epochs: 1, seed: 1 });
await model.fit(train, { y });
const dir = await mkdtemp(join(tmpdir(), 'anomalia-onnx-bench-'));
await model.save(join(dir, 'ebm'));
await exportOnnx(join(dir, 'ebm'), join(dir, 'ebm.onnx'));
const onnx = await loadOnnxDetector(join(dir, 'ebm.onnx'), { session: { intraOpNumThreads: threads } });
const fixture = fileURLToPath(new URL('../fixtures/torch-ebm.onnx', import.meta.url));
const torchExport = await loadOnnxDetector(fixture, {
  featureNames: Array.from({ length: D }, (_, j) => `x${j}`),
  session: { intraOpNumThreads: threads },
});

/** Runs a Python reference script and forwards its JSON lines. */
function python(script: string, args: string[], name: string): void {
  if (!existsSync(values.python)) {
    print({ name, impl: 'pytorch', error: `${values.python} not found (apt-get install -y python3-torch)` });
    return;
  }
  const r = spawnSync(values.python, [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    print({
      name,
      impl: 'pytorch',
      error: (r.stderr || r.error?.message || 'failed').trim().split('\n').at(-1),
    });
    return;
  }
  for (const line of r.stdout.trim().split('\n')) print({ name, ...JSON.parse(line) });
}

const torchScoring = fileURLToPath(new URL('../scripts/torch_scoring.py', import.meta.url));
const inputs = new Map(batches.map((b) => [b, normal(b)]));
const ortVersion = `onnxruntime-node ${env.versions.node}`;
for (const batch of batches) {
  const X = inputs.get(batch)!;
  for (const [impl, score] of [
    [`${ortVersion} (Anomalia export)`, () => onnx.score(X)],
    [`${ortVersion} (PyTorch export)`, () => torchExport.score(X)],
    [`tfjs-${backend.backend} ${backend.tfjsVersion}`, () => model.score(X)],
  ] as const) {
    const { calls, seconds } = await time(score);
    print({
      impl,
      batch,
      n: batch * calls,
      threads: impl.startsWith('tfjs') ? 1 : threads,
      seconds,
      rows_per_s: (batch * calls) / seconds,
    });
  }
  // PyTorch right after, so that every implementation of a batch size sees the same machine load.
  const torchArgs = ['--d', String(D), '--batches', String(batch), '--seconds', String(minSeconds)];
  python(torchScoring, [...torchArgs, '--threads', String(threads)], 'ebm-score');
}
await onnx.close();
await torchExport.close();
await rm(dir, { recursive: true, force: true });

// Training, not scoring: the reference the neural package's benchmark compares with.
const reference = join(sharedDir(import.meta.url), 'reference', 'torch_throughput.py');
if (existsSync(reference)) {
  python(
    reference,
    ['ebm', '--n', '10000', '--batch', '32', '--threads', String(threads)],
    'ebm-train-reference',
  );
} else {
  print({ name: 'ebm-train-reference', impl: 'pytorch', error: `${reference} not found` });
}
