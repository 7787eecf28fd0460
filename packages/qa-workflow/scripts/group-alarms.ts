/**
 * False-alarm and detection rates of the per-machine and per-staff alarms (`groupSeries` +
 * `reviewGroups` of @anomalia/features) on synthetic clinics. The defaults (7-day periods, 30-min
 * late edits, BH at 0.05, 2 periods each side of a change point, quasi-Poisson peers) were chosen
 * looking at seeds 101–103 only; run it on other seeds.
 *
 *   pnpm --filter @anomalia/qa-workflow group-alarms [-- --seeds 1,2,...,20 --days 140 --patients 8 --staff 606]
 *
 * Each seed is one clinic of `days` days (3 new courses a weekday); its series start on day 63
 * (the clinic starts empty: its first weeks are all new plans and verifications). Clean: does
 * anything alarm? Planted: therapist `staff` edits one delivered field of each of `patients`
 * patients whose treatment starts after day 63 (`audit_trail_manipulation` / `user_impersonation`); does that staff id alarm on
 * `planned_edits_after_delivery`, and does anything else alarm? One JSON line per seed, then a
 * summary line.
 */
import { groupSeries, reviewGroups, staffRolesOf } from '@anomalia/features';
import { plantStaffEdits, recordsOf, staffClinic } from '../src/staff-edit-plant';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1]!;
}
const seeds = arg('seeds', Array.from({ length: 20 }, (_, i) => i + 1).join(','))
  .split(',')
  .map(Number);
const days = Number(arg('days', '140'));
const victims = Number(arg('patients', '8'));
const staffId = Number(arg('staff', '606'));
const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1);

let cleanAlarmed = 0;
let cleanAlarms = 0;
let detected = 0;
let otherAlarmed = 0;
for (const seed of seeds) {
  const { cohort, staff } = staffClinic(seed, days);
  const roles = staffRolesOf(staff);
  const since = new Date(START + 63 * DAY);
  const clean = reviewGroups(groupSeries(cohort.records, { roles, since }));
  const plant = plantStaffEdits(cohort, { staffId, patients: victims, seed, after: since });
  const attacked = reviewGroups(groupSeries(recordsOf(plant.rows), { roles, since }));
  const hit = attacked.alarms.find((a) => a.group === staffId && a.kind === 'planned_edits_after_delivery');
  const others = attacked.alarms.filter((a) => a.dimension === 'staff' && a.group !== staffId);
  if (clean.alarms.length > 0) cleanAlarmed++;
  cleanAlarms += clean.alarms.length;
  if (hit) detected++;
  if (others.length > 0) otherAlarmed++;
  console.log(
    JSON.stringify({
      seed,
      records: cohort.records.length,
      tested: clean.tested,
      cleanAlarms: clean.alarms.map(
        (a) => `${a.dimension} ${a.group} ${a.kind} ${a.test} p=${a.pValue.toExponential(2)}`,
      ),
      planted: plant.patients.length,
      detected: hit
        ? {
            pValue: hit.pValue,
            adjusted: hit.adjustedPValue,
            patients: hit.patients,
            period: hit.period?.start,
          }
        : null,
      otherStaffAlarms: others.map((a) => `${a.group} ${a.kind} ${a.test}`),
    }),
  );
}
console.log(
  JSON.stringify({
    summary: true,
    seeds: seeds.length,
    cleanClinicsWithAlarm: cleanAlarmed,
    cleanAlarms,
    plantedDetected: detected,
    plantedClinicsWithOtherStaffAlarm: otherAlarmed,
  }),
);
