import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import type { Change } from './changes';
import type { TreatmentRecord } from './record';
import type { TrackTreatmentRow } from './tables';

/**
 * The contracts `@anomalia/db-sqlite` and `@anomalia/db-mssql` implement. Readers never write;
 * writers only ever write to a database marked as a sandbox, inside one transaction per run, with
 * a ledger that restores the exact original.
 */

const id = z.number().int();

/** Which TrackTreatment rows to list. Windows are on Create_DtTm, half-open: [from, to). */
export const TreatmentQuerySchema = z
  .strictObject({
    from: z.date(),
    to: z.date(),
    /** Only these machines (TrackTreatment.Machine_ID_Staff_ID). */
    machineIds: z.array(id).min(1).optional(),
    /** Only these patients (TrackTreatment.Pat_ID1). */
    patientIds: z.array(id).min(1).optional(),
    /** Only these fields (TrackTreatment.FLD_ID). */
    fieldIds: z.array(id).min(1).optional(),
    /** Only rows with WasBeamComplete = 1. */
    completedOnly: z.boolean().default(false),
    /** Rows with WasQAMode = 1: included (default), excluded, or the only ones. */
    qaMode: z.enum(['include', 'exclude', 'only']).default('include'),
    /** Rows per page. */
    pageSize: z.number().int().min(1).max(10_000).default(1000),
    /** `nextCursor` of the previous page; null or absent for the first page. */
    cursor: z.string().nullable().default(null),
  })
  .refine((q) => q.from.getTime() < q.to.getTime(), { message: 'from before to', path: ['to'] });
export type TreatmentQueryInput = z.input<typeof TreatmentQuerySchema>;
export type TreatmentQuery = z.output<typeof TreatmentQuerySchema>;

/** Validates a query; a bad field is a ValidationError naming it (e.g. `query.pageSize`). */
export function parseTreatmentQuery(input: unknown): TreatmentQuery {
  return parseWith(TreatmentQuerySchema, input, 'query');
}

/** One listed treatment: enough to choose which records to load. */
export type TreatmentSummary = Pick<
  TrackTreatmentRow,
  | 'TTX_ID'
  | 'Pat_ID1'
  | 'FLD_ID'
  | 'SIT_ID'
  | 'Machine_ID_Staff_ID'
  | 'Create_DtTm'
  | 'Edit_DtTm'
  | 'WasQAMode'
  | 'WasBeamComplete'
>;

/** A page of treatments ordered by (Create_DtTm, TTX_ID); `nextCursor` is null on the last page. */
export interface TreatmentPage {
  items: TreatmentSummary[];
  nextCursor: string | null;
}

/** Keyset position after which the next page starts. */
export interface TreatmentCursor {
  createdAt: Date;
  ttxId: number;
}

/** Encodes a keyset cursor as an opaque URL-safe string. */
export function encodeTreatmentCursor(cursor: TreatmentCursor): string {
  return `${cursor.createdAt.getTime().toString(36)}.${cursor.ttxId.toString(36)}`;
}

export function decodeTreatmentCursor(text: string): TreatmentCursor {
  const m = /^(-?[0-9a-z]+)\.(-?[0-9a-z]+)$/.exec(text);
  const t = m ? Number.parseInt(m[1]!, 36) : Number.NaN;
  const ttxId = m ? Number.parseInt(m[2]!, 36) : Number.NaN;
  if (!Number.isSafeInteger(t) || !Number.isSafeInteger(ttxId)) {
    throw new ValidationError('query.cursor', 'a cursor returned as nextCursor by a previous page', text);
  }
  return { createdAt: new Date(t), ttxId };
}

/** Records loaded by id: in the order of the requested ids; ids with no TrackTreatment row are listed. */
export interface LoadedRecords {
  records: TreatmentRecord[];
  missingIds: number[];
}

/**
 * The change cursor's position: the row version of the last change consumed, as `0x` and 16 hex
 * digits (SQL Server's rowversion is 8 bytes; SQLite's emulation uses the same form). Opaque to
 * callers: persist it and pass it back.
 */
export type Watermark = string;

const WATERMARK = /^0x[0-9a-f]{16}$/;

/** A row version (0 ≤ v < 2^64) as a watermark. */
export function encodeWatermark(version: bigint): Watermark {
  if (typeof version !== 'bigint' || version < 0n || version >= 1n << 64n) {
    throw new ValidationError('watermark', 'a row version in [0, 2^64)', version);
  }
  return `0x${version.toString(16).padStart(16, '0')}`;
}

/** The row version of a watermark; anything else is a ValidationError naming `watermark`. */
export function decodeWatermark(text: unknown): bigint {
  if (typeof text !== 'string' || !WATERMARK.test(text)) {
    throw new ValidationError('watermark', 'a watermark returned by changesSince or currentWatermark', text);
  }
  return BigInt(text);
}

/** Options of `changesSince`. */
export const ChangeOptionsSchema = z.strictObject({
  /** Changed rows per call. */
  limit: z.number().int().min(1).max(10_000).default(1000),
});
export type ChangeOptionsInput = z.input<typeof ChangeOptionsSchema>;
export type ChangeOptions = z.output<typeof ChangeOptionsSchema>;

/** Validates change options; a bad field is a ValidationError naming it (e.g. `options.limit`). */
export function parseChangeOptions(input: unknown): ChangeOptions {
  return parseWith(ChangeOptionsSchema, input ?? {}, 'options');
}

/** A TrackTreatment row as the change cursor saw it: its summary and its row version. */
export type ChangedTreatment = TreatmentSummary & {
  /** The row's version when read (a watermark: the row changed at exactly this point). */
  version: Watermark;
};

/** One call's worth of changes. */
export interface ChangePage {
  /** The watermark the call started from (null: from the very first row). */
  since: Watermark | null;
  /** TrackTreatment rows inserted or updated after `since`, in version order, each once. */
  items: ChangedTreatment[];
  /**
   * Where the next call starts. When `hasMore` is false it is the database's safe point: every
   * change committed up to it has been returned, so an empty page still moves it forward.
   */
  watermark: Watermark;
  /** More changes are already waiting: call again at once. */
  hasMore: boolean;
}

/**
 * The incremental cursor the monitor polls: TrackTreatment rows inserted or updated after a
 * watermark. Guarantees, for every adapter:
 * - no committed change is ever skipped: a row whose change commits late (an in-flight
 *   transaction holding an older version) is returned once it commits, because the cursor never
 *   moves past a version that may still commit (SQL Server: `RowVers < MIN_ACTIVE_ROWVERSION()`);
 * - a row edited again after it was returned comes back with its new version; a row is never
 *   returned twice within one page;
 * - deletions are not reported (a deleted row has no version to read);
 * - only TrackTreatment is watched: a treatment is scored with the plan rows current when it is
 *   read, and edits to TxField or TxFieldPoint alone do not appear.
 */
export interface ChangeCursor {
  /** Changes after `watermark` (null: from the first row), at most `options.limit`. */
  changesSince(watermark: Watermark | null, options?: ChangeOptionsInput & ReadOptions): Promise<ChangePage>;
  /** The safe point now: `changesSince(currentWatermark())` returns only later changes. */
  currentWatermark(options?: ReadOptions): Promise<Watermark>;
}

/** Options every read takes. */
export interface ReadOptions {
  /**
   * Stops the read: a network adapter cancels the query on the server and rejects; an
   * in-process one (SQLite) runs each read at once and only checks it before starting.
   */
  signal?: AbortSignal;
}

/**
 * Reads treatments. `loadRecords` is set-wise: for a batch of ids it runs a handful of queries
 * (TrackTreatment, TxField, TxFieldPoint, Site, Patient, Ident, Staff, Dose_Hst, Offset, each
 * with `IN (...)`), never one per record, and builds the records with `assembleRecords`, so every
 * adapter joins the same way. Records of the same field share one `controlPoints` array.
 */
export interface TreatmentReader extends ChangeCursor {
  listTreatments(query: TreatmentQueryInput, options?: ReadOptions): Promise<TreatmentPage>;
  loadRecords(ids: readonly number[], options?: ReadOptions): Promise<LoadedRecords>;
  close(): Promise<void>;
}

/** What a run of changes is for (stored with the run). */
export const RunMetaSchema = z.strictObject({
  /** A human label, e.g. "corrupt_mlc_data/odd_bytes on 40 records". */
  label: z.string().min(1).max(500),
  /** Failure mode and variant ids, when the changes come from one. */
  mode: z.string().optional(),
  variant: z.string().optional(),
  /** The RNG seed the changes were drawn with. */
  seed: z.number().int().optional(),
  /** Parameters, as JSON. */
  params: z.record(z.string(), z.unknown()).optional(),
});
export type RunMeta = z.infer<typeof RunMetaSchema>;

export type RunStatus = 'applied' | 'restored';

/** A run: one transaction of changes on a sandbox. */
export interface SandboxRun {
  runId: string;
  meta: RunMeta;
  appliedAt: Date;
  restoredAt: Date | null;
  status: RunStatus;
  changeCount: number;
}

/** One ledger line: the `seq`-th change (0-based) of a run, exactly as applied. */
export interface LedgerEntry {
  runId: string;
  seq: number;
  change: Change;
}

/**
 * Writes to a sandbox copy of Mosaiq, never to production.
 * - Construction must fail with NotASandboxError unless the database holds the marker table
 *   `SANDBOX_MARKER_TABLE`.
 * - `apply` validates every change (`validateChange`), checks its precondition against the stored
 *   row (an update's oldValue, an insert's free key, a deleted row's content; see `applyChanges`
 *   for the reference semantics), writes the changes and their ledger lines in ONE transaction,
 *   and rolls everything back on the first failure (ChangeConflictError or ValidationError).
 * - `restore` applies the inverse changes in reverse order in one transaction, checking that each
 *   cell still holds the value the run wrote (a later run that touched it must be restored first),
 *   and marks the run restored. Restoring a restored or unknown run is a ValidationError.
 */
export interface SandboxWriter {
  apply(changes: readonly Change[], meta: RunMeta): Promise<SandboxRun>;
  restore(runId: string): Promise<SandboxRun>;
  listRuns(): Promise<SandboxRun[]>;
  ledger(runId: string): Promise<LedgerEntry[]>;
  close(): Promise<void>;
}

/** A database must contain this table to be written to. Production Mosaiq never does. */
export const SANDBOX_MARKER_TABLE = 'Anomalia_Sandbox';
/** Where writers keep runs and ledger lines (inside the sandbox database). */
export const RUN_TABLE = 'Anomalia_Run';
export const LEDGER_TABLE = 'Anomalia_Ledger';

/** Thrown when a writer is pointed at a database that is not marked as a sandbox. */
export class NotASandboxError extends Error {
  override readonly name = 'NotASandboxError';
  constructor(readonly database: string) {
    super(`${database}: not a sandbox (no ${SANDBOX_MARKER_TABLE} table); refusing to write`);
  }
}
