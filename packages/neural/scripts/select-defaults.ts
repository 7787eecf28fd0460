/**
 * How the AutoEncoder's and VAE's defaults were chosen, re-runnable. The rule (fixed before any
 * run, and the only data it reads are the selection sets):
 *
 * - Selection sets S = breastw, pendigits, thyroid; report sets R = cardio, satellite, vowels
 *   (the six ADBench sets in alphabetical order, every other one). Nothing here runs on R.
 * - Baseline B = PyOD 3.x's defaults (PYOD_DEFAULTS below, read from PyOD's source).
 * - Each candidate is one change to B. Over S × seeds 1–3 (ADBench protocol), gain = its mean
 *   ROC-AUC minus B's, worst = its smallest per-set difference to B (means over seeds), in points.
 *   A candidate qualifies if gain ≥ 1.0 and worst ≥ −1.0.
 * - The qualifying candidate with the largest gain is adopted; the other qualifiers are then
 *   tried on top of it, in order of gain, each adopted if it passes the same test against the
 *   configuration so far. With no qualifier, B stays.
 *
 *   pnpm --filter @anomalia/neural select:defaults -- --data-dir ../../../shared/data/tabular [--models ae,vae]
 *
 * Prints one JSON line per run and per candidate, then the decision per model.
 */
import { loadAdbench, meanStd, type NeuralModelName, runSplit, SELECTION_SETS } from '../src/eval/adbench';
import { parseArgs } from './args';

const SEEDS = ['1', '2', '3'];
const MIN_GAIN = 1.0;
const MAX_LOSS = -1.0;

/**
 * PyOD 3.6.5's AutoEncoder and VAE defaults in this package's parameters (pyod/models/
 * auto_encoder.py, vae.py, base_dl.py; the VAE's KL term is clamped to [0, capacity = 0], so
 * β = 0). Batch 32, dropout 0.2 and the standardising scaler are the common defaults.
 */
const PYOD_DEFAULTS: Record<NeuralModelName, Record<string, unknown>> = {
  ae: {
    hiddenLayers: [64, 32],
    normalization: 'batch',
    epochs: 10,
    learningRate: 1e-3,
    weightDecay: 1e-5,
    validationFraction: 0,
    batchSize: 32,
    dropout: 0.2,
    scaler: 'standard',
  },
  vae: {
    encoderLayers: [128, 64, 32],
    decoderLayers: [32, 64, 128],
    latent: 2,
    normalization: 'none',
    beta: 0,
    alpha: 0,
    epochs: 30,
    learningRate: 1e-3,
    weightDecay: 1e-5,
    validationFraction: 0,
    batchSize: 32,
    dropout: 0.2,
    scaler: 'standard',
  },
};

/** The candidate deviations from PyOD's defaults, each one change (declared before any run). */
const CANDIDATES: Record<NeuralModelName, Record<string, Record<string, unknown>>> = {
  ae: {
    'LayerNorm instead of batch norm': { normalization: 'layer' },
    'no normalisation': { normalization: 'none' },
    'no dropout': { dropout: 0 },
    '5 epochs': { epochs: 5 },
    '20 epochs': { epochs: 20 },
    'early stopping on 10 % held out': { validationFraction: 0.1 },
    'hidden [64, 32, 16, 8] (the seed trainer)': { hiddenLayers: [64, 32, 16, 8] },
  },
  vae: {
    'KL on, β = 1': { beta: 1 },
    'KL on, β = 0.1': { beta: 0.1 },
    'latent distance in the score, α = 0.5': { alpha: 0.5 },
    'latent 8': { latent: 8 },
    'batch norm': { normalization: 'batch' },
    '10 epochs': { epochs: 10 },
    'early stopping on 10 % held out': { validationFraction: 0.1 },
  },
};

const args = parseArgs(process.argv.slice(2));
const dir = args.get('data-dir');
if (!dir) {
  console.error('usage: select-defaults.ts --data-dir <dir> [--models ae,vae]');
  process.exit(2);
}
const models = (args.get('models') ?? 'ae,vae').split(',') as NeuralModelName[];
const sets = await Promise.all(SELECTION_SETS.map((name) => loadAdbench(dir, name)));

/** Per selection set, the mean ROC-AUC (%) over the seeds. */
async function evaluate(model: NeuralModelName, label: string, params: Record<string, unknown>) {
  const perSet: Record<string, { mean: number; std: number }> = {};
  for (const set of sets) {
    const aucs: number[] = [];
    for (const seed of SEEDS) {
      const r = await runSplit(set, seed, model, { ...PYOD_DEFAULTS[model], ...params });
      console.log(JSON.stringify({ candidate: label, params, ...r }));
      aucs.push(100 * r.roc_auc);
    }
    perSet[set.name] = meanStd(aucs);
  }
  const mean = meanStd(Object.values(perSet).map((v) => v.mean)).mean;
  return { perSet, mean };
}

type Evaluation = Awaited<ReturnType<typeof evaluate>>;
function compare(c: Evaluation, base: Evaluation) {
  const gain = c.mean - base.mean;
  const worst = Math.min(...SELECTION_SETS.map((s) => c.perSet[s]!.mean - base.perSet[s]!.mean));
  return { gain, worst, qualifies: gain >= MIN_GAIN && worst >= MAX_LOSS };
}

for (const model of models) {
  const base = await evaluate(model, 'PyOD defaults', {});
  console.log(JSON.stringify({ model, candidate: 'PyOD defaults', ...base }));
  const scored: Array<{ label: string; params: Record<string, unknown>; gain: number }> = [];
  for (const [label, params] of Object.entries(CANDIDATES[model])) {
    const e = await evaluate(model, label, params);
    const c = compare(e, base);
    console.log(JSON.stringify({ model, candidate: label, params, ...e, ...c }));
    if (c.qualifies) scored.push({ label, params, gain: c.gain });
  }
  scored.sort((a, b) => b.gain - a.gain);
  let current = base;
  let chosen: Record<string, unknown> = {};
  const adopted: string[] = [];
  for (const [k, s] of scored.entries()) {
    const params = { ...chosen, ...s.params };
    const e =
      k === 0 ? await evaluate(model, s.label, params) : await evaluate(model, `+ ${s.label}`, params);
    const c = compare(e, current);
    if (c.qualifies) {
      chosen = params;
      current = e;
      adopted.push(s.label);
    }
  }
  console.log(
    JSON.stringify({
      model,
      decision: adopted.length ? adopted : ['PyOD defaults'],
      params: chosen,
      ...current,
    }),
  );
}
