import { ValidationError } from '@anomalia/core';
import type { FailureMode } from '@anomalia/failure-modes';
import type { Corruption, CorruptionLimits, CorruptionRequest } from '@anomalia/qa-workflow';
import { z } from 'zod';
import { summarizeChanges } from '../change-summary';
import { variantParameters } from '../mode-info';

/** Changes listed in a tool's answer; the rest are counted (the ledger has them all). */
export const CHANGES_SHOWN = 50;

/** The arguments shared by every failure-mode tool and `preview`: which records, which seed. */
export function targetingShape(limits: CorruptionLimits) {
  return {
    ttx_ids: z
      .array(z.number().int().min(1))
      .min(1)
      .max(limits.maxTargets)
      .optional()
      .describe('TTX_IDs of the TrackTreatment rows to corrupt, applied in this order (instead of count)'),
    count: z
      .number()
      .int()
      .min(1)
      .max(limits.maxTargets)
      .optional()
      .describe(
        'how many records to corrupt, drawn at random (with seed) among those the variant suits; default 1',
      ),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0)
      .describe('seed of the random choices (records, leaves, points...): same seed and data, same changes'),
  };
}

/**
 * The `params` argument. Its JSON Schema lists each variant's parameters (anyOf, titled by
 * variant); the mode validates them for the chosen variant, so a bad one is named
 * `params.<name>` with what is accepted.
 */
export function paramsArgument(mode: FailureMode) {
  return z
    .looseObject({})
    .optional()
    .meta({
      description:
        'parameters of the chosen variant (omitted ones take their defaults); one schema per variant below',
      anyOf: mode.variants.map((v) => ({ title: v.id, ...variantParameters(mode, v.id) })),
    });
}

export interface TargetingArgs {
  ttx_ids?: number[] | undefined;
  count?: number | undefined;
  seed: number;
}

export function corruptionRequest(
  mode: string,
  variant: string,
  params: Record<string, unknown> | undefined,
  args: TargetingArgs,
): CorruptionRequest {
  if (args.ttx_ids) {
    const seen = new Set<number>();
    args.ttx_ids.forEach((id, i) => {
      if (seen.has(id)) throw new ValidationError(`ttx_ids[${i}]`, 'distinct TTX_IDs', id);
      seen.add(id);
    });
  }
  return {
    mode,
    variant,
    seed: args.seed,
    ...(params === undefined ? {} : { params }),
    ...(args.ttx_ids === undefined ? {} : { ttxIds: args.ttx_ids }),
    ...(args.count === undefined ? {} : { count: args.count }),
  };
}

/** Parameters as JSON (dates as ISO strings), for the ledger and the answer. */
export function paramsAsJson(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(params)) as Record<string, unknown>;
}

/** What a failure-mode tool or `preview` reports about the changes it computed. */
export function corruptionReport(corruption: Corruption, seed: number): Record<string, unknown> {
  const first = corruption.applications[0]!;
  return {
    mode: corruption.mode.id,
    variant: corruption.variant,
    severity: first.severity,
    band: first.band,
    seed,
    params: paramsAsJson(corruption.params),
    targets: corruption.applications.map((a) => a.targetTtxId),
    requested: corruption.requested,
    candidatesSkipped: corruption.candidatesSkipped,
    changeCount: corruption.changes.length,
    affectedTtxIds: corruption.affectedTtxIds,
    applications: corruption.applications.map((a) => ({
      targetTtxId: a.targetTtxId,
      primaryTtxId: a.primaryTtxId,
      changeCount: a.changes.length,
      affectedTtxIds: a.affectedTtxIds,
      summary: a.summary,
    })),
    ...summarizeChanges(corruption.changes, CHANGES_SHOWN),
  };
}

/** The label of a run in the ledger. */
export function runLabel(corruption: Corruption, seed: number): string {
  const n = corruption.applications.length;
  return `${corruption.mode.id}/${corruption.variant} on ${n} record${n === 1 ? '' : 's'} (seed ${seed})`;
}
