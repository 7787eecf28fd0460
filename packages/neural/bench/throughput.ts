/**
 * Training throughput (N rows of standard-normal features, d = 74, one warm-up epoch then
 * `--epochs` timed epochs) of the models in ./models.ts: `ebm`, `ae`, `vae` with exactly the
 * architectures and optimisers of shared/reference/torch_throughput.py (EBM: MSE to a uniform
 * 0–3 target, AdamW 1e-4 / 1e-5, clip 1.0; AE: Adam 1e-3 with L2 1e-4; VAE: Adam 1e-3, β = 1),
 * and `ae-default`, `vae-default`, the models' defaults (PyOD's), as bench/torch_defaults.py.
 * Prints one JSON line per run (rows/s by wall time and by the process's CPU time; compare the
 * latter with the PyTorch scripts run through bench/cpu_clock.py), and one for the EnergyModel's
 * scoring throughput.
 *
 *   pnpm --filter @anomalia/neural bench                      # all models, batch 32 and 256
 *   pnpm --filter @anomalia/neural bench -- --model ae-default --batch 32 --n 10000 [--epochs 3] [--backend wasm]
 */
import { Matrix, Rng } from '@anomalia/core';
import { numberArg, parseArgs } from '../scripts/args';
import { EnergyModel, initBackend, type NeuralDetector } from '../src/index';
import { setKernelMaxValues } from '../src/network';
import { ParamLayout, trainFlat } from '../src/trainer';
import { BENCH_MODELS, benchModel } from './models';

const args = parseArgs(process.argv.slice(2));
const models = (args.get('model') ?? BENCH_MODELS.join(',')).split(',');
const batches = (args.get('batch') ?? '32,256').split(',').map(Number);
const n = numberArg(args, 'n', 10000);
const d = numberArg(args, 'd', 74);
const epochs = numberArg(args, 'epochs', 3);
const scoreRows = numberArg(args, 'score-n', 100000);
const info = await initBackend(args.get('backend') as 'wasm' | undefined);
if (args.has('kernel-max')) setKernelMaxValues(numberArg(args, 'kernel-max', 8192));

const rng = new Rng(0);
const X = new Float32Array(n * d);
for (let k = 0; k < X.length; k++) X[k] = rng.normal();
const Y = new Float32Array(n);
for (let k = 0; k < n; k++) Y[k] = rng.uniform(0, 3);

// biome-ignore lint/suspicious/noExplicitAny: any model's parameters
type Neural = NeuralDetector<any>;
/** Reaches the model's networks and objective (protected) to time the bare training loop. */
function internals(model: Neural) {
  const m = model as unknown as {
    buildNetworks(i: number): ParamLayout['networks'];
    objective(layout: ParamLayout, rows: number): Parameters<typeof trainFlat>[6];
    optimizerConfig(lr: number): Parameters<typeof trainFlat>[7]['optimizer'];
    dropLastBatch(): boolean;
    params: { learningRate: number };
  };
  return m;
}

async function run(name: string, batch: number) {
  const model: Neural = benchModel(name, batch, d);
  const m = internals(model);
  const layout = new ParamLayout(m.buildNetworks(d));
  const init = new Float32Array(layout.size);
  const r = new Rng(1);
  for (const net of layout.networks) net.initialise(init, r);
  const objective = m.objective(layout, n);
  const optimizer = m.optimizerConfig(m.params.learningRate);
  const y = name === 'ebm' ? Y : null;
  // The defaults train as the models do, with drop_last (as bench/torch_defaults.py); the seed
  // architectures as shared/reference/torch_throughput.py, on every row.
  const dropLast = name.endsWith('-default') && m.dropLastBatch();
  const used = dropLast ? n - (n % batch) : n;
  const trained = trainFlat(init, layout, X, d, y, y ? 1 : 0, objective, {
    epochs: 1,
    batchSize: batch,
    optimizer,
    rng: r,
    dropLast,
  });
  const start = performance.now();
  const cpu = process.cpuUsage();
  trainFlat(trained.params, layout, X, d, y, y ? 1 : 0, objective, {
    epochs,
    batchSize: batch,
    optimizer,
    rng: r,
    initialStats: trained.stats,
    dropLast,
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpu);
  // CPU seconds of this process: on a shared machine, the work done rather than the wait for a core.
  const cpuSeconds = (cpuUsed.user + cpuUsed.system) / 1e6;
  console.log(
    JSON.stringify({
      name: `train-${name}`,
      model: name,
      batch,
      n,
      d,
      epochs,
      backend: info.backend,
      seconds,
      rows_per_s: (used * epochs) / seconds,
      cpu_seconds: cpuSeconds,
      cpu_rows_per_s: (used * epochs) / cpuSeconds,
    }),
  );
}

for (const name of models) {
  for (const batch of batches) await run(name, batch);
}

// Scoring throughput of a fitted EnergyModel (scaler + chunked forward pass + read-back), with --model ebm.
if (models.includes('ebm')) {
  const ebm = new EnergyModel({ epochs: 1, validationFraction: 0 });
  const Xm = new Matrix(n, d, Float64Array.from(X));
  await ebm.fit(Xm, { y: Float64Array.from(Y) });
  const S = new Matrix(scoreRows, d);
  for (let k = 0; k < S.data.length; k++) S.data[k] = rng.normal();
  await ebm.score(S);
  const t0 = performance.now();
  await ebm.score(S);
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      name: 'ebm-score',
      model: 'ebm',
      n: scoreRows,
      d,
      backend: info.backend,
      seconds,
      rows_per_s: scoreRows / seconds,
    }),
  );
}
