import { parseWith } from '@anomalia/core';
import { z } from 'zod';

/**
 * How the longitudinal tracker tests each course. The measured-parameter defaults were chosen by
 * a rule on clean synthetic clinics of seeds 101–103 (`pnpm --filter @anomalia/features
 * calibrate`; README, "How the alarm defaults were chosen"): the most sensitive settings that
 * alarm on at most 0.25 % of clean courses per test, half the 1 % budget for both. Planned
 * parameters never alarm on a clean course; their h sets the resolution (a single fraction off
 * by more than (h + k) floors alarms at once).
 */
export const TrackerOptionsSchema = z.strictObject({
  /** CUSUM allowance k (σ units) for every parameter. */
  cusumK: z.number().finite().nonnegative().default(0.5),
  /** CUSUM decision interval h (σ units) for planned parameters (σ = the parameter's floor). */
  plannedH: z.number().finite().positive().default(4),
  /** CUSUM decision interval h (σ units) for measured parameters (set-up offsets). */
  measuredH: z.number().finite().positive().default(7),
  /** Measured values are clipped to ±clip σ before the CUSUM: one outlier set-up cannot signal alone. */
  measuredClip: z.number().finite().positive().default(2),
  /** Distinct measured values (offsets) whose mean is the reference of a measured parameter's deviations. */
  baselineCount: z.number().int().min(2).default(5),
  /** Mann–Kendall runs on a measured series once it has this many distinct values. */
  mannKendallMin: z.number().int().min(3).default(10),
  /** Mann–Kendall alarm level; small because the test is repeated at every new value. */
  mannKendallAlpha: z.number().gt(0).lt(1).default(0.0003),
  /** Autocorrelation correction of the Mann–Kendall test (set-up errors are serially correlated). */
  autocorrelation: z.enum(['none', 'hamed-rao']).default('hamed-rao'),
});
export type TrackerOptionsInput = z.input<typeof TrackerOptionsSchema>;
export type TrackerOptions = z.output<typeof TrackerOptionsSchema>;

export function parseTrackerOptions(input: unknown, path = 'options'): TrackerOptions {
  return parseWith(TrackerOptionsSchema, input ?? {}, path);
}
