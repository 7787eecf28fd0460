/**
 * Benchmarks a corruption plan over a synthetic clinic. Prints JSON lines.
 *
 *     pnpm --filter @anomalia/failure-modes bench                      # 5000 records, 500 examples
 *     pnpm --filter @anomalia/failure-modes bench -- --records 100000 --examples 10000
 */
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { createCohort, failureCatalogue, planCorruption } from '../src/index';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer`);
  return v;
}

const records = flag('records', 5000);
const examples = flag('examples', Math.max(1, Math.round(records / 10)));
const report = (name: string, n: number, seconds: number, extra: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({ name, n, seconds: +seconds.toFixed(4), rows_per_s: Math.round(n / seconds), ...extra }),
  );

const clinic = generateRecords({ seed: 1, records });
let t = performance.now();
const cohort = createCohort(clinic);
report('cohort', records, (performance.now() - t) / 1000);

// One application of every variant on a suitable record (impact included).
t = performance.now();
let applied = 0;
for (const mode of failureCatalogue.modes) {
  for (const v of mode.variants) {
    const target = cohort.records.find((r) => mode.check({ variant: v.id, target: r, cohort }) === null);
    if (!target) continue;
    mode.apply({ variant: v.id, target, cohort, rng: 1 });
    applied++;
  }
}
report('apply_each_variant', applied, (performance.now() - t) / 1000);

t = performance.now();
const plan = planCorruption({ cohort, n: examples, seed: 1 });
report('plan', examples, (performance.now() - t) / 1000, {
  records,
  applications: plan.applications.length,
  changes: plan.changes.length,
  labels: plan.labels.length,
  shortfall: plan.shortfall.reduce((a, s) => a + s.missing, 0),
});
