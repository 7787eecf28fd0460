/**
 * Benchmarks a corruption plan over a synthetic clinic. Prints JSON lines. The accidental modes
 * run on a busy clinic (a few days); the malicious ones on a clinic with few new courses a day,
 * so the same number of records spans weeks and courses are long enough.
 *
 *     pnpm --filter @anomalia/failure-modes bench                      # 5000 records, 500 examples
 *     pnpm --filter @anomalia/failure-modes bench -- --records 100000 --examples 10000
 */

import { positiveIntegerFlag } from '@anomalia/core/testing';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { type Cohort, createCohort, type FailureMode, failureCatalogue, planCorruption } from '../src/index';

const records = positiveIntegerFlag('records', 5000);
const examples = positiveIntegerFlag('examples', Math.max(1, Math.round(records / 10)));
const report = (name: string, n: number, seconds: number, extra: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({ name, n, seconds: +seconds.toFixed(4), rows_per_s: Math.round(n / seconds), ...extra }),
  );

const clinic = generateRecords({ seed: 1, records });
let t = performance.now();
const cohort = createCohort(clinic);
report('cohort', records, (performance.now() - t) / 1000);

/** One application of every variant of `modes` on a suitable record (impact included). */
function applyEach(name: string, modes: readonly FailureMode[], on: Cohort): void {
  const t0 = performance.now();
  let applied = 0;
  let changes = 0;
  for (const mode of modes) {
    for (const v of mode.variants) {
      const target = on.records.find((r) => mode.check({ variant: v.id, target: r, cohort: on }) === null);
      if (!target) continue;
      changes += mode.apply({ variant: v.id, target, cohort: on, rng: 1 }).changes.length;
      applied++;
    }
  }
  report(name, applied, (performance.now() - t0) / 1000, { changes });
}

function plan(name: string, on: Cohort, kinds: ('accidental' | 'malicious')[]): void {
  const t0 = performance.now();
  const p = planCorruption({ cohort: on, n: examples, seed: 1, kinds });
  report(name, examples, (performance.now() - t0) / 1000, {
    records,
    applications: p.applications.length,
    malicious: p.applications.filter((a) => a.kind === 'malicious').length,
    changes: p.changes.length,
    labels: p.labels.length,
    shortfall: p.shortfall.reduce((a, s) => a + s.missing, 0),
  });
}

const accidental = failureCatalogue.modes.filter((m) => m.kind === 'accidental');
const malicious = failureCatalogue.modes.filter((m) => m.kind === 'malicious');
applyEach('apply_each_variant', accidental, cohort);
plan('plan', cohort, ['accidental']);

t = performance.now();
const weeks = createCohort(generateRecords({ seed: 1, records, newCoursesPerDay: 0.7 }));
report('cohort_weeks', records, (performance.now() - t) / 1000);
applyEach('apply_each_malicious_variant', malicious, weeks);
plan('plan_with_malicious', weeks, ['accidental', 'malicious']);
