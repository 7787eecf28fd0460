/**
 * Throughput of the sequence package. Prints one JSON line per measurement.
 *   pnpm --filter @anomalia/sequence bench [-- --full] [--events N --vocab 5000 --calls N --order 8]
 *     [--programs 2000 --mutation 0.01] [--markov --successors 4 --jump 0.01] [--real <file,file,...>]
 * Data (default, log-like): `programs` program templates of `length` tokens walked on a sparse
 * Markov chain over `vocab` tokens (each token has `successors` possible next tokens with weights
 * 1, 1/2, 1/3, ... and a `jump` chance of any token); each sequence is a Zipf-chosen template
 * with `mutation` of its tokens replaced at random, as processes repeat their behaviour in real
 * logs (system-call traces give 0.1–0.5 distinct 8-grams per event). `--markov` draws every
 * sequence afresh from the chain instead: a high-entropy worst case where most 8-grams are new.
 */
import { parseArgs } from 'node:util';
import { Rng } from '@anomalia/core';
import { DriftMonitor } from '../src/drift/drift-monitor';
import { readSequencesFile } from '../src/io';
import { SequenceAnomalyDetector } from '../src/sequence-detector';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    events: { type: 'string' },
    vocab: { type: 'string', default: '5000' },
    calls: { type: 'string' },
    order: { type: 'string', default: '8' },
    length: { type: 'string', default: '100' },
    successors: { type: 'string', default: '4' },
    jump: { type: 'string', default: '0.01' },
    programs: { type: 'string', default: '2000' },
    mutation: { type: 'string', default: '0.01' },
    markov: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    /** Comma-separated one-sequence-per-line files (e.g. ADFA-LD) to also time on real traces. */
    real: { type: 'string' },
  },
});
// Small by default so `pnpm bench` stays quick; --full is the 10 M-event run of the issue.
const events = Number(values.events ?? (values.full ? 10_000_000 : 1_000_000));
const vocabSize = Number(values.vocab);
const calls = Number(values.calls ?? (values.full ? 2_000_000 : 500_000));
const length = Number(values.length);
const nSucc = Number(values.successors);
const jump = Number(values.jump);

// The chain and the program templates come from a fixed seed, so train and test share them.
const chainRng = new Rng(7);
const tokens = Array.from({ length: vocabSize }, (_, i) => `tok${i}`);
const successors = Array.from({ length: vocabSize }, () =>
  Int32Array.from({ length: nSucc }, () => chainRng.integer(0, vocabSize)),
);
const succWeights = Array.from({ length: nSucc }, (_, k) => 1 / (k + 1));
const cumulative = cumulate(succWeights);

function cumulate(w: number[]): number[] {
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  return w.map((v) => (acc += v / total));
}

function walk(r: Rng): number[] {
  let t = r.integer(0, vocabSize);
  const seq: number[] = new Array(length);
  for (let i = 0; i < length; i++) {
    seq[i] = t;
    if (r.random() < jump) t = r.integer(0, vocabSize);
    else {
      const u = r.random();
      let k = 0;
      while (k < nSucc - 1 && u > cumulative[k]!) k++;
      t = successors[t]![k]!;
    }
  }
  return seq;
}

const templates = Array.from({ length: Number(values.programs) }, () => walk(chainRng));
const templateCumulative = cumulate(templates.map((_, k) => 1 / (k + 1)));

function sequences(count: number, seed: number): string[][] {
  const rng = new Rng(seed);
  const out: string[][] = [];
  if (values.markov) {
    for (let s = 0; s < count; s++) out.push(walk(rng).map((t) => tokens[t]!));
    return out;
  }
  const mutation = Number(values.mutation);
  for (let s = 0; s < count; s++) {
    const u = rng.random();
    let lo = 0;
    let hi = templates.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (templateCumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out.push(templates[lo]!.map((t) => tokens[rng.random() < mutation ? rng.integer(0, vocabSize) : t]!));
  }
  return out;
}

/**
 * Runs `fn` and prints wall-clock and CPU-time throughput (CPU time tells the code's speed
 * when the machine is shared; wall time is what a user waits).
 */
async function measure<T>(
  name: string,
  n: number,
  fn: () => T | Promise<T>,
  extra: (r: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  console.log(
    JSON.stringify({
      name,
      n,
      seconds: +seconds.toFixed(3),
      events_per_s: Math.round(n / seconds),
      cpu_seconds: +cpuSeconds.toFixed(3),
      events_per_cpu_s: Math.round(n / cpuSeconds),
      ...extra(result),
    }),
  );
  return result;
}

const nSeq = Math.ceil(events / length);
const train = sequences(nSeq, 1);
const test = sequences(nSeq, 2);
const nEvents = nSeq * length;

for (const mode of ['language-model', 'stide'] as const) {
  const detector = new SequenceAnomalyDetector({ mode, order: Number(values.order) });
  await measure(
    `sequence.${mode}.fit`,
    nEvents,
    () => detector.fit(train),
    (fit) => ({
      vocab: vocabSize,
      ngrams: fit.ngrams,
      data: values.markov ? 'markov' : 'programs',
      params: detector.params,
    }),
  );
  await measure(
    `sequence.${mode}.score`,
    nEvents,
    () => detector.score(test),
    (scores) => ({
      mean_score: +(scores.reduce((a, b) => a + b, 0) / scores.length).toFixed(4),
    }),
  );
}

{
  const rng = new Rng(3);
  const agents = Array.from({ length: 1000 }, (_, i) => `agent-${i}`);
  const actions = Array.from({ length: 200 }, (_, i) => `action-${i}`);
  let now = 0;
  const monitor = new DriftMonitor({}, { clock: () => now });
  const agentIdx = Int32Array.from({ length: calls }, () => rng.integer(0, agents.length));
  const actionIdx = Int32Array.from({ length: calls }, () => rng.integer(0, actions.length));
  const risk = Float64Array.from({ length: calls }, () => rng.random());
  await measure(
    'drift.recordAction',
    calls,
    () => {
      let alerts = 0;
      for (let i = 0; i < calls; i++) {
        now += 1; // 1000 actions per second overall
        if (monitor.recordAction(agents[agentIdx[i]!]!, actions[actionIdx[i]!]!, risk[i]!)) alerts++;
      }
      return alerts;
    },
    (alerts) => ({ agents: agents.length, actions: actions.length, alerts }),
  );
}

if (values.real) {
  const files = values.real.split(',');
  const real = (await Promise.all(files.map((f) => readSequencesFile(f, '--real')))).flat();
  const n = real.reduce((a, s) => a + s.length, 0);
  const detector = new SequenceAnomalyDetector({ order: Number(values.order) });
  await measure(
    'sequence.language-model.fit.real',
    n,
    () => detector.fit(real),
    (fit) => ({ files, ngrams: fit.ngrams }),
  );
  await measure('sequence.language-model.score.real', n, () => detector.score(real));
}
