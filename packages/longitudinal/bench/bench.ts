/**
 * Throughput of the longitudinal tests at clinic scale: one series per patient × field course.
 *   pnpm --filter @anomalia/longitudinal bench [-- --series 60000 --length 30 --seed 1]
 * Prints one JSON line per measurement: { name, n (series), length, seconds, rows_per_s (series/s),
 * points_per_s, cpu_seconds, ... }. Series are generated before timing: a course of `length`
 * fractions around a planned value of 100 with 1 % noise, a tenth of them drifting +0.5 % per
 * fraction from fraction 10 on (the "subtle escalation" shape), so tests see both kinds.
 * "mk+cusum+welch" is the headline: Mann–Kendall, a CUSUM against a baseline estimated from the
 * first 10 fractions, and Welch's test of the last 10 fractions against the first 20, per series.
 */
import { parseArgs } from 'node:util';
import { Rng } from '@anomalia/core';
import {
  adjustPValues,
  benfordFirstDigit,
  cusum,
  estimateBaseline,
  ewma,
  mannKendall,
  oneSampleTTest,
  runsTest,
  senSlope,
  welchTTest,
} from '../src/index';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    series: { type: 'string', default: '60000' },
    length: { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
  },
});
const nSeries = Number(values.series);
const length = Number(values.length);
const rng = new Rng(Number(values.seed));

const data = new Float64Array(nSeries * length);
for (let s = 0; s < nSeries; s++) {
  const drifting = rng.random() < 0.1;
  for (let i = 0; i < length; i++) {
    const drift = drifting && i >= 10 ? 0.5 * (i - 9) : 0;
    data[s * length + i] = 100 + drift + rng.normal(0, 1);
  }
}
const series = Array.from({ length: nSeries }, (_, s) => data.subarray(s * length, (s + 1) * length));
const split = Math.min(20, length - 2);

function measure(name: string, work: () => number, extra: Record<string, unknown> = {}): void {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const signals = work();
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({
      name,
      n: nSeries,
      length,
      seconds: +seconds.toFixed(3),
      rows_per_s: Math.round(nSeries / seconds),
      points_per_s: Math.round((nSeries * length) / seconds),
      cpu_seconds: +((used.user + used.system) / 1e6).toFixed(3),
      signals,
      ...extra,
    }),
  );
}

const pValues = new Float64Array(nSeries);

function eachSeries(test: (x: Float64Array, i: number) => boolean): number {
  let count = 0;
  for (let i = 0; i < nSeries; i++) if (test(series[i]!, i)) count++;
  return count;
}

function cusumSignals(x: Float64Array): boolean {
  const base = estimateBaseline(x, { count: 10 });
  if (base.status !== 'ok' || base.sigma === 0) return false;
  const r = cusum(x, { target: base.mean, sigma: base.sigma, k: 0.5, h: 5 });
  return r.status === 'ok' && r.signalIndex !== null;
}

function welchSignals(x: Float64Array): boolean {
  const r = welchTTest(x.subarray(split), x.subarray(0, split));
  return r.status === 'ok' && r.pValue < 0.01;
}

measure('mk+cusum+welch', () =>
  eachSeries((x, i) => {
    const mk = mannKendall(x);
    pValues[i] = mk.status === 'ok' ? mk.pValue : 1;
    const c = cusumSignals(x);
    const w = welchSignals(x);
    return (mk.status === 'ok' && mk.pValue < 0.01) || c || w;
  }),
);
measure('mann-kendall', () => eachSeries((x) => (mannKendall(x) as { pValue: number }).pValue < 0.01));
measure('mann-kendall hamed-rao', () =>
  eachSeries((x) => (mannKendall(x, { autocorrelation: 'hamed-rao' }) as { pValue: number }).pValue < 0.01),
);
measure('sen-slope', () => eachSeries((x) => ((senSlope(x) as { lower: number }).lower ?? 0) > 0));
measure('cusum (baseline from 10)', () => eachSeries(cusumSignals));
measure('ewma', () =>
  eachSeries(
    (x) =>
      (ewma(x, { target: 100, sigma: 1, lambda: 0.2, L: 3 }) as { signalIndex: unknown }).signalIndex !==
      null,
  ),
);
measure('welch before/after', () => eachSeries(welchSignals));
measure('one-sample t vs planned', () =>
  eachSeries((x) => (oneSampleTTest(x, 100) as { pValue: number }).pValue < 0.01),
);
measure('runs test', () => eachSeries((x) => (runsTest(x) as { pValue: number }).pValue < 0.01));

for (const method of ['bh', 'holm'] as const) {
  measure(
    `multiple testing ${method}`,
    () => adjustPValues(pValues, { method, alpha: 0.05 }).rejectedIndices.length,
    {
      tests: nSeries,
    },
  );
}
measure('benford (all points as one test)', () => {
  const r = benfordFirstDigit(data);
  return r.status === 'ok' && r.pValue < 0.01 ? 1 : 0;
});
