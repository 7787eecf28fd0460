import { parseWith } from '@anomalia/core';
import { adjustPValues, mannKendall, welchTTest } from '@anomalia/longitudinal';
import { z } from 'zod';
import { type CourseState, floorZTest } from './course';
import { type ParameterFamily, SERIES_PARAMETERS, type SeriesParameterId } from './parameters';

export const ReviewOptionsSchema = z.strictObject({
  /** Multiple-testing procedure across every course × parameter tested. */
  method: z.enum(['bh', 'by', 'holm', 'bonferroni']).default('bh'),
  /** False discovery rate (BH / BY) or family-wise level (Holm, Bonferroni). */
  alpha: z.number().gt(0).lt(1).default(0.01),
  /** Fewest deviations (fractions, or distinct offsets) a course parameter needs to be tested. */
  minPoints: z.number().int().min(2).default(3),
});
export type ReviewOptions = z.input<typeof ReviewOptionsSchema>;

/** One course × parameter test whose adjusted p-value is at or below the level. */
export interface CourseFinding {
  readonly courseKey: string;
  readonly patientId: number;
  readonly fieldSetId: number;
  readonly parameter: SeriesParameterId;
  readonly family: ParameterFamily;
  /**
   * `z-test`: planned parameters, one-sample z-test of the deviations from the course's first
   * fraction with σ = the parameter's floor (they have no noise of their own); `welch`: measured
   * parameters, the values after the baseline against the baseline's; `mann-kendall`: the trend
   * of a measured parameter.
   */
  readonly test: 'z-test' | 'welch' | 'mann-kendall';
  readonly pValue: number;
  /** Adjusted across every course × parameter × test of the review. */
  readonly adjustedPValue: number;
  /** Mean deviation (planned) or difference of means after − baseline (measured), in the parameter's scale. */
  readonly effect: number;
  readonly points: number;
  /** The fraction at which the tracker's alarm on this parameter fired, or null if none did. */
  readonly alarmFraction: number | null;
}

export interface CourseReview {
  /** Tests run (course × parameter × test with enough points). */
  readonly tested: number;
  readonly method: string;
  readonly alpha: number;
  /** Significant findings, most significant first. */
  readonly findings: readonly CourseFinding[];
}

type Candidate = Omit<CourseFinding, 'adjustedPValue'>;

/**
 * Tests every course's parameters at once and controls the false discovery rate across patients ×
 * parameters (Benjamini–Hochberg by default): the batch counterpart of the tracker's sequential
 * alarms, for a daily report or a retrospective audit. Planned parameters are tested with a
 * one-sample z-test of their deviations from the course's first fraction, σ = their floor (a
 * clean course has none: p = 1); measured ones with Welch's test of the values after the
 * baseline against it, and with Mann–Kendall.
 */
export function reviewCourses(courses: Iterable<CourseState>, options: ReviewOptions = {}): CourseReview {
  const o = parseWith(ReviewOptionsSchema, options, 'review');
  const candidates: Candidate[] = [];
  for (const course of courses) {
    const alarms = new Map<string, number>();
    for (const a of course.alarms) if (!alarms.has(a.parameter)) alarms.set(a.parameter, a.fraction);
    for (const summary of course.parameters()) {
      const param = SERIES_PARAMETERS.find((p) => p.id === summary.parameter)!;
      const d = summary.deviations;
      if (d.length < o.minPoints) continue;
      const base = {
        courseKey: course.key,
        patientId: course.patientId,
        fieldSetId: course.fieldSetId,
        parameter: param.id,
        family: param.family,
        points: d.length,
        alarmFraction: alarms.get(param.id) ?? null,
      };
      if (param.kind === 'planned') {
        const z = floorZTest(d, param.sigmaFloor);
        candidates.push({ ...base, test: 'z-test', pValue: z.pValue, effect: z.mean });
        continue;
      }
      const baseline = course.options.baselineCount;
      if (d.length >= baseline + 2) {
        const w = welchTTest(d.slice(baseline), d.slice(0, baseline));
        if (w.status === 'ok')
          candidates.push({ ...base, test: 'welch', pValue: w.pValue, effect: w.difference });
      }
      const mk = mannKendall(d, { autocorrelation: course.options.autocorrelation });
      if (mk.status === 'ok')
        candidates.push({ ...base, test: 'mann-kendall', pValue: mk.pValue, effect: mk.z });
    }
  }
  const adjusted = adjustPValues(
    candidates.map((c) => c.pValue),
    { method: o.method, alpha: o.alpha },
  );
  const findings = adjusted.rejectedIndices
    .map((i) => ({ ...candidates[i]!, adjustedPValue: adjusted.adjusted[i]! }))
    .sort((a, b) => a.adjustedPValue - b.adjustedPValue || a.courseKey.localeCompare(b.courseKey));
  return { tested: candidates.length, method: o.method, alpha: o.alpha, findings };
}
