import { parseWith } from '@anomalia/core';
import { StoreNameSchema } from '@anomalia/db-sqlite/monitor-store';
import { z } from 'zod';

/**
 * What each job carries, validated when a worker takes it (job data crosses Redis, a boundary
 * like any other). Records travel from the scoring job to the commit job as the Scorer returned
 * them; the commit re-checks them against the range's ids in the store.
 */

const site = StoreNameSchema;

export const PollJobSchema = z.strictObject({ site });
export type PollJob = z.output<typeof PollJobSchema>;

export const ScoreJobSchema = z.strictObject({
  site,
  rangeId: z.string().min(1),
  stream: z.string().min(1),
  ids: z.array(z.string().min(1)).min(1),
});
export type ScoreJob = z.output<typeof ScoreJobSchema>;

export const CommitJobSchema = z.strictObject({
  site,
  rangeId: z.string().min(1),
  model: z.strictObject({ name: StoreNameSchema, version: z.string().min(1).max(128) }),
  /** ScoredRecord[] as the scorer returned them (checked again by `checkScored` at commit). */
  records: z.array(z.unknown()),
  /** When the scoring job finished (ms). */
  scoredAt: z.number().int().nonnegative(),
  /** Which worker scored it (logs, tests). */
  scoredBy: z.string(),
});
export type CommitJob = z.output<typeof CommitJobSchema>;

export const DeliverJobSchema = z.strictObject({ notification: z.string().min(1) });
export type DeliverJob = z.output<typeof DeliverJobSchema>;

export const WindowJobSchema = z.strictObject({
  run: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  site,
  from: z.number().int(),
  to: z.number().int(),
});
export type WindowJob = z.output<typeof WindowJobSchema>;

export function parseJob<T>(schema: z.ZodType<T>, data: unknown, queue: string): T {
  return parseWith(schema, data, `${queue} job data`);
}
