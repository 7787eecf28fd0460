/**
 * Feeds a synthetic clinic through `LongitudinalTracker.track` and prints a digest of every
 * course's alarms and trend statistics plus the patients' malicious assessments, and the time.
 * Run before and after a change to the tracker: the digests must be identical.
 *   npx tsx bench/track-compare.ts --records 60000 --seed 1 [--observe] [--unshared] > out.json
 */
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { assessPatientMalice, LongitudinalTracker, targetingTests } from '../src/index';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const generated = generateRecords({ seed: flag('seed', 1), records: flag('records', 60_000) });
// `--unshared`: each record with its own copy of its control points, as a database reader gives them.
const records = process.argv.includes('--unshared')
  ? generated.map((r) => ({
      ...r,
      controlPoints: r.controlPoints.map((cp) => ({
        ...cp,
        A_Leaf_Set: cp.A_Leaf_Set?.slice() ?? null,
        B_Leaf_Set: cp.B_Leaf_Set?.slice() ?? null,
      })),
    }))
  : generated;
const cpu = process.cpuUsage();
const tracker = new LongitudinalTracker();
const raised: unknown[] = [];
// `--observe`: through `observe` (features included) instead of `track`.
const observe = process.argv.includes('--observe');
let featureSum = 0;
for (const r of records) {
  if (!observe) raised.push(...tracker.track(r));
  else {
    const o = tracker.observe(r);
    raised.push(...o.alarms);
    for (let j = 0; j < o.features.length; j++) featureSum += o.features[j]! * ((j % 7) + 1);
  }
}
const trackCpu = process.cpuUsage(cpu);
const groups = targetingTests(tracker);
const patients = [...new Set(records.map((r) => r.treatment.Pat_ID1))].filter((p): p is number => p !== null);
const assessments = patients.map((p) => assessPatientMalice(tracker, p, 0, { groups }));
const totalCpu = process.cpuUsage(cpu);
const courses = [...tracker.courses()].map((c) => ({
  key: c.key,
  alarms: c.alarms,
  maxTrendZ: c.maxTrendZ(),
  parameters: c.parameters().map((p) => [p.parameter, p.trendZ, p.trendP, p.cusum]),
}));
console.error(
  JSON.stringify({
    records: records.length,
    track_cpu_s: (trackCpu.user + trackCpu.system) / 1e6,
    total_cpu_s: (totalCpu.user + totalCpu.system) / 1e6,
  }),
);
console.log(JSON.stringify({ raised, featureSum, courses, groups, assessments }));
