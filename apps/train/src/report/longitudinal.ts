import type { LongitudinalEvaluation } from '@anomalia/qa-workflow';
import { esc, fmt, passCell, table } from './html';

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(0)} %`);

/**
 * The report's "Longitudinal detection" section: per malicious variant, the courses it affected,
 * the share caught by the tracker's alarms and the fractions it took, then the target of issue 17
 * on the courses above the clinical tolerance, and the false-alarm rate on clean courses.
 */
export function longitudinalSection(e: LongitudinalEvaluation): string {
  const target = (rate: number | null) => (rate === null ? null : rate >= 0.9);
  const rows = e.variants.map((v) => [
    esc(v.mode),
    esc(v.variant),
    v.severity,
    String(v.applications),
    v.shortCourses ? `${v.courses} (+${v.shortCourses} short)` : String(v.courses),
    pct(v.rate),
    `${pct(v.statistical.rate)} / ${pct(v.statistical.overToleranceRate)}`,
    v.medianDelay === null ? '–' : fmt(v.medianDelay, 1),
    String(v.overTolerance.courses),
    pct(v.overTolerance.rate),
    passCell(target(v.overTolerance.rate)),
    `${pct(v.overTolerance.long.rate)} of ${v.overTolerance.long.courses}`,
    `${fmt(v.maxEffect.dosePercent, 1)} % / ${fmt(v.maxEffect.geometryMm, 1)} mm`,
    v.malice.median === null ? '–' : `${fmt(v.malice.median, 2)} (${pct(v.malice.atLeastHalf)})`,
    esc(
      Object.entries(v.firstAlarms)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([k, n]) => `${k} (${n})`)
        .join(', '),
    ),
  ]);
  const judged = e.variants.filter((v) => v.overTolerance.courses > 0);
  const met = judged.filter((v) => target(v.overTolerance.rate));
  return `<section><h2>Longitudinal detection (malicious variants)</h2>
<p>Each variant applied to up to ${e.applicationsPerVariant} courses of the cohort (seed ${esc(e.seed)}), replayed
fraction by fraction through the longitudinal tracker (CUSUM and Mann–Kendall per course parameter, and two rules
on field versions: a new version with unchanged content before two fractions in a row, and fractions delivered
from a version that is not the current one). A course is detected when an alarm fires at or after its first
attacked fraction; the delay counts fractions from that one
(1 = caught at it). Courses with fewer than 5 fractions in the cohort have no history to compare with and are
counted apart ("short"). Clinical tolerance: ≥ ${e.tolerance.dosePercent} % cumulative dose or ≥ ${e.tolerance.geometryMm} mm mean
displacement over the course; target: ≥ 90 % of the courses above it detected. A slow drift is a trend on a noisy
series: the courses above the tolerance with at least ${e.powerPoints} points from the onset (distinct field versions and
set-up offsets delivered) are also counted apart: for the default couch drift (1 mm per imaged session against set-up
noise of about 2.5 mm) fewer points cannot give any trend test 90 % power at 1 % false alarms (see
<code>powerPoints</code> of <code>evaluateLongitudinalDetection</code>).</p>
${table(
  [
    'mode',
    'variant',
    'severity',
    'applications',
    'courses',
    'detected',
    'by CUSUM / Mann–Kendall alone (all / above tolerance)',
    'median delay (fractions)',
    'courses above tolerance',
    'detected above tolerance',
    'target',
    `above tolerance, ≥ ${e.powerPoints} points from onset: detected`,
    'largest effect (dose / geometry)',
    'P(malicious): median (share ≥ 0.5)',
    'first alarms',
  ],
  rows,
)}
<p>Variants meeting the target: ${met.length} of ${judged.length} with courses above the tolerance.
Clean courses alarmed: ${e.clean.alarmed} of ${e.clean.courses} (${(e.clean.rate * 100).toFixed(2)} %; target ≤ 1 %)
${passCell(e.clean.rate <= 0.01)}. Clean patients with a malicious probability ≥ 0.5:
${(e.clean.maliceAtLeastHalf * 100).toFixed(2)} % of ${e.clean.patients}. The probability is seed 001's, computed from the
evidence the tracker gathered (several anomaly types, alarms within tolerance, intermittent changes, audit gaps,
over-represented patient groups; <code>assessPatientMalice</code> of <code>@anomalia/features</code>).</p></section>`;
}
