/**
 * Benchmarks of the longitudinal features: a whole clinic through the tracker, the
 * `qa74-longitudinal` feature set, the batch review and the malicious evidence.
 *   pnpm --filter @anomalia/features bench:longitudinal                  (60 000 records)
 *   pnpm --filter @anomalia/features bench:longitudinal -- --records 200000
 * Prints one JSON line per measurement.
 */

import { positiveIntegerFlag } from '@anomalia/core/testing';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import {
  assessPatientMalice,
  extractQaExtended,
  extractQaLongitudinal,
  LongitudinalTracker,
  reviewCourses,
  targetingTests,
} from '../src/index';

function timed<T>(
  name: string,
  n: number,
  f: () => T,
  extra: (r: T) => Record<string, unknown> = () => ({}),
): T {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const result = f();
  const seconds = (performance.now() - t) / 1000;
  const u = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({
      name,
      n,
      seconds: Number(seconds.toFixed(4)),
      rows_per_s: Math.round(n / seconds),
      records_per_s: Math.round(n / seconds),
      cpu_seconds: Number(((u.user + u.system) / 1e6).toFixed(4)),
      ...extra(result),
    }),
  );
  return result;
}

const N = positiveIntegerFlag('records', 60_000);
const seed = positiveIntegerFlag('seed', 1);
const records: TreatmentRecord[] = generateRecords({ seed, records: N });
const asOf = new Date(Date.UTC(2030, 0, 1));
// Untimed warm-up so the JIT compiles first.
extractQaLongitudinal(records.slice(0, 3000), { asOf });

const tracker = timed(
  'tracker_observe',
  records.length,
  () => {
    const t = new LongitudinalTracker();
    for (const r of records) t.observe(r);
    return t;
  },
  (t) => ({ courses: t.size, alarms: t.alarms().length }),
);
timed(
  'extract_extended',
  records.length,
  () => extractQaExtended(records, { asOf }),
  (fm) => ({ cols: fm.X.cols }),
);
timed(
  'extract_longitudinal',
  records.length,
  () => extractQaLongitudinal(records, { asOf }),
  (fm) => ({ cols: fm.X.cols }),
);
// A day's batch scored against the clinic's history (what the train app and the monitor do).
const day = records.slice(-1000);
timed(
  'extract_longitudinal_day_with_history',
  day.length,
  () => extractQaLongitudinal(day, { asOf, history: records }),
  () => ({ history: records.length }),
);
timed(
  'review_bh',
  tracker.size,
  () => reviewCourses(tracker.courses()),
  (r) => ({
    tests: r.tested,
    findings: r.findings.length,
  }),
);
const patients = [...new Set([...tracker.courses()].map((c) => c.patientId))];
timed(
  'malice_all_patients',
  patients.length,
  () => {
    const groups = targetingTests(tracker);
    return patients.map((p) => assessPatientMalice(tracker, p, 2.8, { groups }));
  },
  (a) => ({ max_probability: Number(Math.max(...a.map((x) => x.maliciousProbability)).toFixed(3)) }),
);
