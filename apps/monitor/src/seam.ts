import { parseWith } from '@anomalia/core';
import { z } from 'zod';

/**
 * The seam between the alerting core and the data: the service loop asks a ChangeSource what
 * changed since the persisted watermark and a Scorer what the model makes of it. Production
 * implements them with the database change cursor (SQLite, or SQL Server's rowversion below
 * MIN_ACTIVE_ROWVERSION()) and the promoted model with its feature set; `src/testing` has
 * in-memory ones over real data structures.
 */

/** Records created or edited after a watermark. */
export interface ChangeBatch {
  /** Record ids (TrackTreatment TTX_ID as text), in cursor order, each at most once. */
  readonly ids: readonly string[];
  /** The cursor after these ids; persisted only once they are scored and their alerts stored. */
  readonly watermark: string | null;
  /** False when the batch was cut at the limit and more changes are waiting (catch-up). */
  readonly caughtUp: boolean;
  /** When the newest change in the batch was committed at the source (ms), when known. */
  readonly newestChangeAt?: number | null;
}

export interface ChangeSource {
  /** Shown in logs and health: `sqlite`, `mssql`, `memory`. */
  readonly kind: string;
  /**
   * At most `limit` ids changed after `watermark` (null on the very first start: the source
   * begins at its configured lookback). It must never skip a change: every change after
   * `watermark` is in this batch or in a later one, even when committed out of order.
   * It never writes to the source database.
   */
  poll(watermark: string | null, limit: number): Promise<ChangeBatch>;
  /**
   * For backfills: the records that occurred in [window.from, window.to) (ms since the epoch),
   * at most `limit` after `cursor` (null: the first page), in an order that does not change
   * between calls; `next` is null on the last page. A source without it cannot be backfilled.
   */
  history?(window: TimeWindow, cursor: string | null, limit: number): Promise<HistoryPage>;
  close?(): Promise<void>;
}

/** A half-open time interval [from, to), ms since the epoch. */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

/** One page of a backfill window. */
export interface HistoryPage {
  readonly ids: readonly string[];
  /** Where the next page starts; null when this was the last one. */
  readonly next: string | null;
}

/** The model's identity: with the source and record id it forms an alert's idempotency key. */
export interface ModelIdentity {
  readonly name: string;
  /** The artifact's version or digest: a new model version re-alerts, the same one never does. */
  readonly version: string;
}

export interface FeatureContribution {
  readonly feature: string;
  /** The feature's value for this record. */
  readonly value: number;
  /** Its share of the energy (saliency), signed. */
  readonly contribution: number;
}

/** One scored record as the Scorer hands it to triage. */
export interface ScoredRecord {
  readonly recordId: string;
  /** Patient identifier: used to group and inhibit, redacted from logs, omitted from sinks by default. */
  readonly patientId: string | null;
  /** When the treatment happened (ms since the epoch), when known. */
  readonly occurredAt: number | null;
  /** Raw model output: triage clips it to the 0–3 scale; a non-finite value is stored as invalid. */
  readonly energy: number;
  /** MC-dropout standard deviation of the energy, when computed. */
  readonly uncertainty?: number | null;
  /** The features that drove the energy, most important first. */
  readonly saliency?: readonly FeatureContribution[];
  /** The malicious assessment (computed by the longitudinal checks), when available. */
  readonly malicious?: { readonly probability: number; readonly indicators: readonly string[] } | null;
  /** Extra labels to group or inhibit on (machine, site, course). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Scorer {
  readonly model: ModelIdentity;
  /**
   * Loads the records set-wise and scores them. Ids that no longer exist (deleted between poll
   * and load) are left out of the result; every returned record must be one of `ids`.
   */
  score(ids: readonly string[]): Promise<ScoredRecord[]>;
  close?(): Promise<void>;
}

const ScoredRecordSchema = z.strictObject({
  recordId: z.string().min(1),
  patientId: z.string().nullable(),
  occurredAt: z.number().int().nonnegative().nullable(),
  // Any number, NaN included: a broken model's output is recorded as invalid, not rejected.
  energy: z.custom<number>((v) => typeof v === 'number', 'a number'),
  uncertainty: z.number().nonnegative().nullable().optional(),
  saliency: z
    .array(z.strictObject({ feature: z.string().min(1), value: z.number(), contribution: z.number() }))
    .optional(),
  malicious: z
    .strictObject({ probability: z.number().min(0).max(1), indicators: z.array(z.string()) })
    .nullable()
    .optional(),
  labels: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.string()).optional(),
});

/** Validates what a Scorer returned (a seam between teams is a boundary like any other). */
export function checkScored(records: unknown, ids: readonly string[]): ScoredRecord[] {
  const parsed = parseWith(z.array(ScoredRecordSchema), records, 'scorer.score()');
  const asked = new Set(ids);
  const seen = new Set<string>();
  parsed.forEach((r, i) => {
    if (!asked.has(r.recordId) || seen.has(r.recordId))
      throw new Error(
        `scorer.score()[${i}].recordId: expected one of the ids asked for, each once (got "${r.recordId}")`,
      );
    seen.add(r.recordId);
  });
  return parsed;
}
