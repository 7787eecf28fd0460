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
  /**
   * The malicious assessment (computed by the longitudinal checks), when available: the patient's
   * probability, and whether this record's own course carries the evidence (`ownEvidence`,
   * absent: true). Only a record with evidence of its own is raised to critical by suspicion.
   */
  readonly malicious?: {
    readonly probability: number;
    readonly indicators: readonly string[];
    readonly ownEvidence?: boolean;
  } | null;
  /** Extra labels to group or inhibit on (machine, site, course). */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A record the model was not trained to judge (a QA-mode beam, a selected or interrupted one):
 * counted and stored as seen, never scored or alerted on.
 */
export interface UnjudgedRecord {
  readonly recordId: string;
  readonly patientId: string | null;
  readonly occurredAt: number | null;
  /** Why: `qa_mode`, `incomplete`. */
  readonly notJudged: string;
}

/** Whether the model fits the source (the data-mismatch guard's verdict). */
export interface FitAssessment {
  /**
   * `fits`; `warming_up` (too few judged records yet); `unchecked` (no training reference kept
   * with the model); `mismatch`: the model does not fit this database (see `reasons`).
   */
  readonly status: 'fits' | 'warming_up' | 'unchecked' | 'mismatch';
  readonly reasons: readonly string[];
  /** Judged records in the rolling window. */
  readonly window: number;
  /** Share of them at or above the alerting band. */
  readonly alertShare: number;
  readonly missingTables: readonly string[];
  /** Features whose PSI exceeds the threshold, most shifted first (at most 20). */
  readonly shifted: readonly { readonly feature: string; readonly psi: number }[];
  /** Features in the reference (0 without one). */
  readonly features: number;
  readonly referenceRows: number | null;
}

export interface Scorer {
  readonly model: ModelIdentity;
  /**
   * Loads the records set-wise and scores them. Ids that no longer exist (deleted between poll
   * and load) are left out of the result; every returned record must be one of `ids`.
   */
  score(ids: readonly string[]): Promise<(ScoredRecord | UnjudgedRecord)[]>;
  /**
   * Told, while it scores a batch, the ids it will most likely be asked to score next (the
   * service reads ahead when catching up): it may start reading their records. A hint only:
   * `score` must give the same result whether or not it came, and for any other ids.
   */
  prefetch?(ids: readonly string[]): void;
  /** The data-mismatch guard's verdict after the last batch (null or absent: not checked). */
  fit?(): FitAssessment | null;
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
    .strictObject({
      probability: z.number().min(0).max(1),
      indicators: z.array(z.string()),
      ownEvidence: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  labels: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.string()).optional(),
});

const UnjudgedRecordSchema = z.strictObject({
  recordId: z.string().min(1),
  patientId: z.string().nullable(),
  occurredAt: z.number().int().nonnegative().nullable(),
  notJudged: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a reason such as qa_mode'),
});

export const isUnjudged = (r: ScoredRecord | UnjudgedRecord): r is UnjudgedRecord => 'notJudged' in r;

const ScoredArraySchema = z.array(z.union([ScoredRecordSchema, UnjudgedRecordSchema]));

/**
 * Validates what a Scorer returned (a seam between teams is a boundary like any other). A batch
 * of thousands is checked by `accepts` first, which admits only what the schemas admit; anything
 * it does not accept goes through the schemas, whose error names the record and field.
 */
export function checkScored(records: unknown, ids: readonly string[]): (ScoredRecord | UnjudgedRecord)[] {
  const parsed = (
    Array.isArray(records) && records.every(accepts)
      ? records
      : parseWith(ScoredArraySchema, records, 'scorer.score()')
  ) as (ScoredRecord | UnjudgedRecord)[];
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

const SCORED_KEYS = new Set(Object.keys(ScoredRecordSchema.shape));
const UNJUDGED_KEYS = new Set(Object.keys(UnjudgedRecordSchema.shape));
const MALICIOUS_KEYS = new Set(['probability', 'indicators', 'ownEvidence']);
const NAME = /^[a-z][a-z0-9_]*$/;
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const plain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const keysWithin = (v: Record<string, unknown>, allowed: ReadonlySet<string>) =>
  Object.keys(v).every((k) => allowed.has(k) && !FORBIDDEN.has(k));

/** The schemas' checks written out for speed: true only for a record the schemas accept. */
function accepts(r: unknown): boolean {
  if (!plain(r)) return false;
  const unjudged = 'notJudged' in r;
  if (!keysWithin(r, unjudged ? UNJUDGED_KEYS : SCORED_KEYS)) return false;
  if (typeof r.recordId !== 'string' || r.recordId.length === 0) return false;
  if (r.patientId !== null && typeof r.patientId !== 'string') return false;
  if (r.occurredAt !== null && !(Number.isSafeInteger(r.occurredAt) && (r.occurredAt as number) >= 0))
    return false;
  if (unjudged) return typeof r.notJudged === 'string' && NAME.test(r.notJudged);
  if (typeof r.energy !== 'number') return false;
  if (r.uncertainty != null && !(num(r.uncertainty) && r.uncertainty >= 0)) return false;
  if (r.saliency !== undefined) {
    if (!Array.isArray(r.saliency)) return false;
    const items = new Set(['feature', 'value', 'contribution']);
    for (const s of r.saliency)
      if (
        !plain(s) ||
        !keysWithin(s, items) ||
        typeof s.feature !== 'string' ||
        !s.feature ||
        !num(s.value) ||
        !num(s.contribution)
      )
        return false;
  }
  if (r.malicious != null) {
    const m = r.malicious;
    if (!plain(m) || !keysWithin(m, MALICIOUS_KEYS)) return false;
    if (m.ownEvidence !== undefined && typeof m.ownEvidence !== 'boolean') return false;
    if (!num(m.probability) || m.probability < 0 || m.probability > 1) return false;
    if (!Array.isArray(m.indicators) || !m.indicators.every((i) => typeof i === 'string')) return false;
  }
  if (r.labels !== undefined) {
    if (!plain(r.labels)) return false;
    for (const [k, v] of Object.entries(r.labels))
      if (!NAME.test(k) || FORBIDDEN.has(k) || typeof v !== 'string') return false;
  }
  return true;
}
