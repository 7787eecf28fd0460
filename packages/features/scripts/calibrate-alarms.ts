/**
 * How the tracker's alarm defaults for measured parameters (set-up offsets) were chosen.
 *
 *   pnpm --filter @anomalia/features calibrate [-- --seeds 101,102,103 --records 60000]
 *
 * Planned parameters never alarm on a clean course (their series are constant), so only the
 * measured ones need thresholds. For each clean synthetic clinic (seeds 101–103, never the
 * clinics the train app reports on), every course is tracked with each candidate setting and the
 * share of courses with an alarm of each test is counted. The rule: the most sensitive setting
 * (smallest h, then the larger clip; largest α) whose alarm share, pooled over the clinics, is at
 * most 0.25 % per test,
 * so that CUSUM and Mann–Kendall together stay within 0.5 % of clean courses, half of the 1 %
 * budget. Prints one JSON line per setting, then the choice.
 */
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { LongitudinalTracker, type TrackerOptionsInput } from '../src/index';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1]!;
}
const seeds = arg('seeds', '101,102,103').split(',').map(Number);
const size = Number(arg('records', '60000'));
const BUDGET = 0.0025;

const clinics = seeds.map((seed) =>
  generateRecords({ seed, records: size }).sort(
    (a, b) =>
      (a.treatment.Create_DtTm?.getTime() ?? 0) - (b.treatment.Create_DtTm?.getTime() ?? 0) ||
      a.treatment.TTX_ID - b.treatment.TTX_ID,
  ),
);

/** Share of courses with an alarm of each test, pooled over the clinics. */
function alarmShares(options: TrackerOptionsInput): { cusum: number; mk: number; courses: number } {
  let courses = 0;
  let cusum = 0;
  let mk = 0;
  for (const records of clinics) {
    const t = new LongitudinalTracker(options);
    for (const r of records) t.observe(r);
    courses += t.size;
    for (const c of t.courses()) {
      if (c.alarms.some((a) => a.test === 'cusum')) cusum++;
      if (c.alarms.some((a) => a.test === 'mann-kendall')) mk++;
    }
  }
  return { cusum: cusum / courses, mk: mk / courses, courses };
}

const hs = [4, 5, 6, 7, 8, 10];
const clips = [2, 3];
const baselines = [5];
const alphas = [1e-3, 3e-4, 1e-4, 3e-5, 1e-5];
const cusumRows: { measuredH: number; measuredClip: number; share: number }[] = [];
const mkRows: { mannKendallAlpha: number; share: number }[] = [];
for (const baselineCount of baselines) {
  for (const measuredClip of clips) {
    for (const measuredH of hs) {
      const s = alarmShares({ measuredH, measuredClip, baselineCount, mannKendallAlpha: 1e-12 });
      cusumRows.push({ measuredH, measuredClip, share: s.cusum });
      console.log(
        JSON.stringify({
          test: 'cusum',
          measuredH,
          measuredClip,
          baselineCount,
          share: s.cusum,
          courses: s.courses,
        }),
      );
    }
  }
}
for (const mannKendallAlpha of alphas) {
  const s = alarmShares({ measuredH: 1e6, mannKendallAlpha });
  mkRows.push({ mannKendallAlpha, share: s.mk });
  console.log(JSON.stringify({ test: 'mann-kendall', mannKendallAlpha, share: s.mk, courses: s.courses }));
}
// Most sensitive within budget: smallest h (then the larger clip, the shorter baseline); largest α.
const cusumChoice = cusumRows
  .filter((r) => r.share <= BUDGET)
  .sort((a, b) => a.measuredH - b.measuredH || b.measuredClip - a.measuredClip)[0];
const mkChoice = mkRows
  .filter((r) => r.share <= BUDGET)
  .sort((a, b) => b.mannKendallAlpha - a.mannKendallAlpha)[0];
console.log(
  JSON.stringify({ choice: { ...cusumChoice, ...mkChoice }, budgetPerTest: BUDGET, seeds, records: size }),
);
