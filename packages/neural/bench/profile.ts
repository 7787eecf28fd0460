/**
 * Where a training step's time goes: runs the benchmark's training loop under tf.profile and
 * prints the total kernel time per kernel name (ms over the profiled epoch), plus host-side time.
 *   npx tsx bench/profile.ts --model ebm --batch 256 --n 10000
 */
import { Rng } from '@anomalia/core';
import { numberArg, parseArgs } from '../scripts/args';
import { tf } from '../src/engine';
import { initBackend, type NeuralDetector } from '../src/index';
import { setKernelMaxValues } from '../src/network';
import { ParamLayout, trainFlat } from '../src/trainer';
import { benchModel } from './models';

const args = parseArgs(process.argv.slice(2));
const name = args.get('model') ?? 'ebm';
const batch = numberArg(args, 'batch', 256);
const n = numberArg(args, 'n', 10000);
const d = 74;
await initBackend(args.get('backend') as 'wasm' | undefined);
if (args.has('kernel-max')) setKernelMaxValues(numberArg(args, 'kernel-max', 8192));
const rng = new Rng(0);
const X = new Float32Array(n * d);
for (let k = 0; k < X.length; k++) X[k] = rng.normal();
const Y = new Float32Array(n);
for (let k = 0; k < n; k++) Y[k] = rng.uniform(0, 3);
// biome-ignore lint/suspicious/noExplicitAny: any model
const model: NeuralDetector<any> = benchModel(name, batch, d);
// biome-ignore lint/suspicious/noExplicitAny: protected internals
const m = model as any;
const layout = new ParamLayout(m.buildNetworks(d));
const init = new Float32Array(layout.size);
const r = new Rng(1);
for (const net of layout.networks) net.initialise(init, r);
const objective = m.objective(layout, n);
const optimizer = m.optimizerConfig(m.params.learningRate);
const y = name === 'ebm' ? Y : null;
const run = () =>
  trainFlat(init, layout, X, d, y, y ? 1 : 0, objective, { epochs: 1, batchSize: batch, optimizer, rng: r });
run();
const t0 = performance.now();
const c0 = process.cpuUsage();
run();
const wall = performance.now() - t0;
const c1 = process.cpuUsage(c0);
const cpuMs = (c1.user + c1.system) / 1000;
const info = await tf.profile(() => {
  run();
});
const byName = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += k.kernelTimeMs as number;
  e.calls += 1;
  byName.set(k.name, e);
}
const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(
  `wall (unprofiled epoch) ${wall.toFixed(1)} ms, its CPU time ${cpuMs.toFixed(1)} ms, kernel total (profiled epoch) ${total.toFixed(1)} ms`,
);
for (const [k, e] of rows)
  console.log(
    `${k.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(6)} calls ${((1000 * e.ms) / e.calls).toFixed(1).padStart(8)} us/call`,
  );
