/**
 * Detection rate and delay of the longitudinal alarms per malicious variant, and the false-alarm
 * rate on clean courses, on synthetic clinics the alarm defaults were not chosen on (those were
 * calibrated on seeds 101–103, see @anomalia/features `calibrate`).
 *
 *   pnpm --filter @anomalia/qa-workflow detection [-- --seeds 1,2,3,4,5 --records 120000 --days 120 --per-variant 20]
 *
 * Each seed is one clinic (`generateRecords({ seed, records })`, the train job's default size),
 * its last `days` days the cohort (as `prepareTrainingSet` reads it), evaluated with the same seed.
 * Prints one JSON line per seed and variant, one per seed for the clean courses, then one pooled
 * line per variant over the seeds.
 */
import { performance } from 'node:perf_hooks';
import { createCohort } from '@anomalia/failure-modes';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { evaluateLongitudinalDetection, type VariantDetection } from '../src/index';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1]!;
}
const seeds = arg('seeds', '1,2,3,4,5').split(',').map(Number);
const size = Number(arg('records', '120000'));
const days = Number(arg('days', '120'));
const perVariant = Number(arg('per-variant', '20'));
const DAY = 86_400_000;

interface Pool {
  courses: number;
  detected: number;
  over: number;
  overDetected: number;
  long: number;
  longDetected: number;
  delays: number[];
  maxDose: number;
  maxMm: number;
  malice: { patients: number; atLeastHalf: number; courses: number; suspected: number; raised: number };
}
const pooled = new Map<string, Pool>();
const clean = { courses: 0, alarmed: 0, patients: 0, maliceAtLeastHalf: 0 };

for (const seed of seeds) {
  const started = performance.now();
  const records = generateRecords({ seed, records: size });
  let latest = 0;
  for (const r of records) latest = Math.max(latest, r.treatment.Create_DtTm?.getTime() ?? 0);
  const recent = records.filter((r) => (r.treatment.Create_DtTm?.getTime() ?? -1) >= latest - days * DAY);
  const e = evaluateLongitudinalDetection({
    cohort: createCohort(recent),
    seed,
    applicationsPerVariant: perVariant,
  });
  const seconds = (performance.now() - started) / 1000;
  clean.courses += e.clean.courses;
  clean.alarmed += e.clean.alarmed;
  clean.patients += e.clean.patients;
  clean.maliceAtLeastHalf += e.clean.maliceAtLeastHalf * e.clean.patients;
  console.log(JSON.stringify({ seed, clean: e.clean, treatments: recent.length, seconds }));
  for (const v of e.variants) {
    console.log(JSON.stringify({ seed, ...summary(v) }));
    const key = `${v.mode}/${v.variant}`;
    const p = pooled.get(key) ?? {
      courses: 0,
      detected: 0,
      over: 0,
      overDetected: 0,
      long: 0,
      longDetected: 0,
      delays: [],
      maxDose: 0,
      maxMm: 0,
      malice: { patients: 0, atLeastHalf: 0, courses: 0, suspected: 0, raised: 0 },
    };
    p.courses += v.courses;
    p.detected += v.detected;
    p.over += v.overTolerance.courses;
    p.overDetected += v.overTolerance.detected;
    p.long += v.overTolerance.long.courses;
    p.longDetected += v.overTolerance.long.detected;
    if (v.medianDelay !== null) p.delays.push(v.medianDelay);
    p.maxDose = Math.max(p.maxDose, v.maxEffect.dosePercent);
    p.maxMm = Math.max(p.maxMm, v.maxEffect.geometryMm);
    p.malice.patients += v.malice.patients;
    p.malice.atLeastHalf += v.malice.atLeastHalf * v.malice.patients;
    p.malice.courses += v.courses + v.shortCourses;
    p.malice.suspected += v.malice.suspectedCourses * (v.courses + v.shortCourses);
    p.malice.raised += v.malice.raisedCourses * (v.courses + v.shortCourses);
    pooled.set(key, p);
  }
}

function summary(v: VariantDetection) {
  return {
    variant: `${v.mode}/${v.variant}`,
    courses: v.courses,
    detected: v.detected,
    rate: v.rate,
    medianDelay: v.medianDelay,
    overTolerance: v.overTolerance,
    statisticalRate: v.statistical.rate,
    maxEffect: v.maxEffect,
    malice: v.malice,
  };
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
console.log(
  JSON.stringify({
    pooled: 'clean',
    seeds,
    courses: clean.courses,
    alarmed: clean.alarmed,
    rate: clean.alarmed / clean.courses,
    patients: clean.patients,
    maliceAtLeastHalf: clean.patients ? clean.maliceAtLeastHalf / clean.patients : 0,
  }),
);
for (const [variant, p] of pooled) {
  console.log(
    JSON.stringify({
      pooled: variant,
      seeds,
      courses: p.courses,
      rate: p.courses ? p.detected / p.courses : 0,
      overTolerance: {
        courses: p.over,
        rate: p.over ? p.overDetected / p.over : null,
        long: { courses: p.long, rate: p.long ? p.longDetected / p.long : null },
      },
      medianOfSeedMedianDelays: median(p.delays),
      maxEffect: { dosePercent: p.maxDose, geometryMm: p.maxMm },
      // Share of the attacked patients whose malicious probability is ≥ 0.5.
      maliceAtLeastHalf: p.malice.patients ? p.malice.atLeastHalf / p.malice.patients : null,
      // Shares of the affected courses whose patient is at ≥ 0.5, and that a monitor raises to
      // critical (the course carries evidence itself).
      suspectedCourses: p.malice.courses ? p.malice.suspected / p.malice.courses : null,
      raisedCourses: p.malice.courses ? p.malice.raised / p.malice.courses : null,
    }),
  );
}
