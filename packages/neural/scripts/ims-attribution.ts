/**
 * Channel attribution on the IMS bearing runs (protocol: `IMS_PROTOCOL` in
 * src/eval/ims-attribution.ts): trained on the first half of a run, which bearing do the late
 * anomalous windows blame? Prints, per file and model, the channels ranked by both attribution
 * methods and by a model-free z-score reference; then, for the VAE, the anomaly rate of each
 * day of the run scored as its own series (multi-series analysis).
 *
 *   pnpm --filter @anomalia/neural eval:ims -- --data-dir ../../../shared/data/ims
 *   options: --model vae|ae|both (default both)  --seed N (default: the protocol's, 1)  --no-days
 */
import { join } from 'node:path';
import {
  firstPlaceCounts,
  fitImsModel,
  IMS_PROTOCOL,
  imsAttribution,
  readImsRun,
} from '../src/eval/ims-attribution';
import { analyseSeries } from '../src/index';
import { numberArg, parseArgs } from './args';

const args = parseArgs(process.argv.slice(2));
const dir = args.get('data-dir');
if (!dir) {
  console.error(
    'usage: eval:ims -- --data-dir <dir with ims_*_resmaple_10minutes.csv> [--model vae|ae|both] [--seed N] [--no-days]',
  );
  process.exit(2);
}
const choice = args.get('model') ?? 'both';
if (!['vae', 'ae', 'both'].includes(choice)) {
  console.error(`--model: expected vae, ae or both, got ${choice}`);
  process.exit(2);
}
const models = choice === 'both' ? (['vae', 'ae'] as const) : [choice as 'vae' | 'ae'];
const seed = numberArg(args, 'seed', IMS_PROTOCOL.vae.seed);
const runs = [
  { file: 'ims_1st_test_resmaple_10minutes.csv', failed: null },
  { file: 'ims_2nd_test_resmaple_10minutes.csv', failed: 'Bearing 1' },
  { file: 'ims_3rd_test_resmaple_10minutes.csv', failed: 'Bearing 3' },
];

const fmt = (ranking: Array<{ channel: string; value: number; share: number }>) =>
  ranking.map((c) => `${c.channel} ${c.value.toPrecision(4)} (${(100 * c.share).toFixed(1)} %)`).join(' > ');

for (const run of runs) {
  const path = join(dir, run.file);
  for (const model of models) {
    const r = await imsAttribution(path, model, seed);
    console.log(
      `\n${r.file} · ${model} (seed ${seed}) · ${r.rows} rows · trained on ${r.trainWindows} windows ` +
        `${r.trainRange.join(' → ')} · late ${r.lateRange.join(' → ')}: ${r.lateAnomalous} of ${r.lateWindows} ` +
        `windows above the threshold ${r.threshold.toFixed(3)} · failed: ${run.failed ?? 'no target'}`,
    );
    for (const a of [r.reconstruction, r.gradient]) {
      if (!a) continue;
      const counts = firstPlaceCounts(a);
      console.log(
        `  ${`${a.method}, first in`.padEnd(26)} ${a.channels.map((c, j) => `${c}: ${counts[j]}`).join(', ')} (of ${r.lateAnomalous} windows)`,
      );
    }
    for (const [name, ranking] of [
      ['reconstruction', r.reconstruction?.ranking],
      ['gradient', r.gradient?.ranking],
      ['z-score (ref.)', r.zScore],
    ] as const) {
      if (!ranking) {
        console.log(`  ${name.padEnd(15)} no late anomalous window: nothing to attribute`);
        continue;
      }
      const verdict = run.failed
        ? ranking[0]!.channel === run.failed
          ? '← the failed bearing first'
          : '← NOT the failed bearing'
        : '';
      console.log(`  ${name.padEnd(15)} ${fmt(ranking)}  ${verdict}`);
    }
  }
  if (args.has('no-days') || !models.includes('vae' as never)) continue;
  // Multi-series: every day of the run as its own series, scored by the model of the healthy half.
  const data = await readImsRun(path);
  const { detector, layout } = await fitImsModel(data, 'vae', seed);
  const days = new Map<string, number[]>();
  data.times.forEach((t, i) => {
    const day = t.slice(0, 10);
    days.set(day, [...(days.get(day) ?? []), i]);
  });
  const analysis = await analyseSeries(
    detector,
    [...days].map(([id, rows]) => ({
      id,
      values: data.series.selectRows(rows),
      times: rows.map((i) => data.times[i]!),
    })),
    { layout, topWindows: 1, topChannels: 2 },
  );
  detector.releaseDevice();
  console.log(
    `  per day (VAE; a day is its own series; anomaly rate at the threshold ${analysis.threshold.toFixed(3)}):`,
  );
  for (const id of days.keys()) {
    const s = analysis.series.find((x) => x.id === id)!;
    const top = s.topWindows[0];
    console.log(
      `    ${id}  ${String(s.windows).padStart(4)} windows  ${(100 * s.anomalyRate).toFixed(0).padStart(3)} % flagged` +
        (s.channels.length > 0
          ? `  channels: ${s.channels
              .slice(0, 2)
              .map((c) => `${c.channel} ${(100 * c.share).toFixed(0)} %`)
              .join(', ')}`
          : '') +
        (top ? `  top window ${top.startTime} → ${top.endTime} (${top.score.toFixed(1)})` : ''),
    );
  }
}
