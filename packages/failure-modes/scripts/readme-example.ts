import { applyChanges, assembleRecords, invertChanges } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { createCohort, failureCatalogue, planCorruption } from '../src/index';

const cohort = createCohort(generateRecords({ seed: 1, records: 2000 }));

// One (mode, variant) on one record: validated parameters, seeded, pure.
const angles = failureCatalogue.mode('invalid_angles');
const target = angles.targets(cohort, 'gantry')[0]!;
const app = angles.apply({ variant: 'gantry', target, cohort, params: { invalidValue: -50 }, rng: 42 });
console.log(app.severity, app.band, app.changes.length, app.affectedTtxIds.length);
console.log(app.summary);

// In memory, exactly as a sandbox database would apply it (then undo it).
const rows = applyChanges(cohort.rows, app.changes);
const corrupted = assembleRecords(rows).find((r) => r.treatment.TTX_ID === target.treatment.TTX_ID)!;
console.log(corrupted.controlPoints[0]!.Gantry_Ang); // -50
const restored = applyChanges(rows, invertChanges(app.changes));
console.log(restored.TxFieldPoint.length === cohort.rows.TxFieldPoint.length);

// A malicious mode needs courses: a clinic of five weeks (few new courses a day).
const weeks = createCohort(generateRecords({ seed: 1, records: 5000, newCoursesPerDay: 0.7 }));
const creep = failureCatalogue.mode('gradual_parameter_drift');
const course = creep.targets(weeks, 'mu_creep')[0]!;
const attack = creep.apply({ variant: 'mu_creep', target: course, cohort: weeks, rng: 1 });
console.log(attack.severity, attack.band, attack.changes.length, attack.affectedTtxIds.length);
console.log(attack.summary);
const oneDay = cohort.records.find((r) => r.treatment.WasBeamComplete && !r.treatment.WasQAMode)!;
console.log(creep.check({ variant: 'mu_creep', target: oneDay, cohort })); // a one-day clinic has no course

// A seeded, severity-balanced plan with a held-out variant; malicious pairs fill critical_malicious.
const plan = planCorruption({
  cohort: weeks,
  n: 200,
  seed: 7,
  holdout: [{ mode: 'corrupt_mlc_data', variant: 'odd_bytes' }],
});
console.log(plan.strata.map((s) => `${s.stratum} ${s.planned}`).join(', '));
console.log(plan.examples.find((e) => e.kind === 'malicious'));
console.log(plan.changes.length, plan.labels.length, plan.excludedTtxIds.length);
