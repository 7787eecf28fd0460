import { ValidationError } from '@anomalia/core';
import type { TreatmentReader, TreatmentRecord } from '@anomalia/mosaiq';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** SQL Server takes 2 100 parameters per request; db-mssql allows 1 990 ids per listing. */
const PATIENTS_PER_LISTING = 1000;
const PAGE = 10_000;
/** Records per `loadRecords` call. */
const LOAD = 5000;

/** A delivery as cohort features count one: not QA mode, not known to be incomplete. */
const isDelivery = (r: TreatmentRecord): boolean =>
  r.treatment.WasQAMode !== true && r.treatment.WasBeamComplete !== false;

interface PatientWindow {
  /** Every delivery of the patient created at or after this time is in `records`. */
  from: number;
  readonly records: Map<number, TreatmentRecord>;
}

export interface PatientHistoryOptions {
  /** How far back a record's context reaches (cohort features look for the previous fraction). */
  readonly days: number;
  /** Cached records at most; beyond it the least recently needed patients are dropped. */
  readonly maxRecords?: number;
}

/** What one `contextFor` call did (for logs and the benchmark). */
export interface HistoryStats {
  /** Patients whose window was already cached. */
  readonly cachedPatients: number;
  /** Patients whose history was read from the source. */
  readonly loadedPatients: number;
  /** Records read from the source as history. */
  readonly loadedRecords: number;
}

/**
 * Each patient's recent deliveries, the context cohort features need (the previous fraction of a
 * field, repeats within minutes), loaded set-wise per batch: one listing per 1 000 patients whose
 * window is not cached and one `loadRecords` per 5 000 records, never a query per record.
 *
 * A stream of batches in change order (a monitor's cursor) mostly needs what earlier batches
 * brought: `observe` adds every scored batch to the cache, so catching up over a backlog reads
 * each patient's history once. A patient's window stays complete because every later change
 * reaches `observe` through the cursor; an edited record replaces its cached version.
 */
export class PatientHistory {
  private readonly patients = new Map<number, PatientWindow>();
  private cached = 0;
  private readonly span: number;
  private readonly maxRecords: number;

  constructor(
    private readonly reader: Pick<TreatmentReader, 'listTreatments' | 'loadRecords'>,
    options: PatientHistoryOptions,
  ) {
    if (!(options.days > 0 && options.days <= 3650))
      throw new ValidationError('history.days', 'a number of days in (0, 3650]', options.days);
    this.span = options.days * DAY;
    this.maxRecords = options.maxRecords ?? 500_000;
  }

  /** Cached records (all patients). */
  get size(): number {
    return this.cached;
  }

  /**
   * The deliveries of the batch's patients in the `days` before each one's earliest record
   * (the batch itself left out: its records are their own context).
   */
  async contextFor(
    batch: readonly TreatmentRecord[],
    options: { signal?: AbortSignal } = {},
  ): Promise<{ history: TreatmentRecord[]; stats: HistoryStats }> {
    const needed = new Map<number, number>();
    let latest = Number.NEGATIVE_INFINITY;
    for (const r of batch) {
      const p = r.treatment.Pat_ID1;
      const t = r.treatment.Create_DtTm?.getTime();
      if (p === null || t === undefined) continue;
      if (t > latest) latest = t;
      const from = t - this.span;
      const prev = needed.get(p);
      if (prev === undefined || from < prev) needed.set(p, from);
    }
    const missing: number[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (const [p, from] of needed) {
      const w = this.patients.get(p);
      if (w && w.from <= from) continue;
      missing.push(p);
      if (from < earliest) earliest = from;
    }
    const inBatch = new Set(batch.map((r) => r.treatment.TTX_ID));
    let loadedRecords = 0;
    if (missing.length)
      loadedRecords = await this.load(missing, earliest, latest, batch, inBatch, options.signal);
    const history: TreatmentRecord[] = [];
    for (const [p, from] of needed) {
      const w = this.patients.get(p)!;
      // Re-inserted: Map order makes the least recently needed patients the first dropped.
      this.patients.delete(p);
      this.patients.set(p, w);
      for (const r of w.records.values()) {
        if (inBatch.has(r.treatment.TTX_ID)) continue;
        const t = r.treatment.Create_DtTm?.getTime();
        if (t !== undefined && t >= from) history.push(r);
      }
    }
    return {
      history,
      stats: { cachedPatients: needed.size - missing.length, loadedPatients: missing.length, loadedRecords },
    };
  }

  /**
   * Adds a scored batch to the cached windows (new and edited records; an edit that made a record
   * no delivery removes it), then drops records older than every window still needs.
   */
  observe(batch: readonly TreatmentRecord[]): void {
    let newest = Number.NEGATIVE_INFINITY;
    for (const r of batch) {
      const p = r.treatment.Pat_ID1;
      const t = r.treatment.Create_DtTm?.getTime();
      if (t !== undefined && t > newest) newest = t;
      if (p === null) continue;
      const w = this.patients.get(p);
      if (!w) continue;
      const had = w.records.delete(r.treatment.TTX_ID);
      if (had) this.cached--;
      if (t !== undefined && t >= w.from && isDelivery(r)) {
        w.records.set(r.treatment.TTX_ID, r);
        this.cached++;
      }
    }
    if (Number.isFinite(newest)) this.evict(newest - this.span - DAY);
    this.trim();
  }

  /**
   * Reads the deliveries of `patients` created in [from, until] (later ones reach `observe`
   * through the cursor), the batch's own records taken from the batch rather than read again.
   */
  private async load(
    patients: number[],
    from: number,
    until: number,
    batch: readonly TreatmentRecord[],
    inBatch: ReadonlySet<number>,
    signal?: AbortSignal,
  ): Promise<number> {
    const ids: number[] = [];
    for (let i = 0; i < patients.length; i += PATIENTS_PER_LISTING) {
      const chunk = patients.slice(i, i + PATIENTS_PER_LISTING);
      let cursor: string | null = null;
      do {
        const page = await this.reader.listTreatments(
          {
            from: new Date(from),
            to: new Date(until + 1),
            patientIds: chunk,
            qaMode: 'exclude',
            pageSize: PAGE,
            cursor,
          },
          { signal },
        );
        for (const t of page.items)
          if (t.WasBeamComplete !== false && !inBatch.has(t.TTX_ID)) ids.push(t.TTX_ID);
        cursor = page.nextCursor;
      } while (cursor !== null);
    }
    for (const p of patients) {
      const old = this.patients.get(p);
      if (old) this.cached -= old.records.size;
      this.patients.set(p, { from, records: new Map() });
    }
    for (const r of batch) {
      const w = r.treatment.Pat_ID1 === null ? undefined : this.patients.get(r.treatment.Pat_ID1);
      const t = r.treatment.Create_DtTm?.getTime();
      if (!w || !isDelivery(r) || t === undefined || t < w.from || w.records.has(r.treatment.TTX_ID))
        continue;
      w.records.set(r.treatment.TTX_ID, r);
      this.cached++;
    }
    for (let i = 0; i < ids.length; i += LOAD) {
      const { records } = await this.reader.loadRecords(ids.slice(i, i + LOAD), { signal });
      for (const r of records) {
        const w = r.treatment.Pat_ID1 === null ? undefined : this.patients.get(r.treatment.Pat_ID1);
        if (!w || !isDelivery(r) || w.records.has(r.treatment.TTX_ID)) continue;
        w.records.set(r.treatment.TTX_ID, r);
        this.cached++;
      }
    }
    return ids.length;
  }

  /** Drops records created before `cutoff` (no batch to come needs them, in change order). */
  private evict(cutoff: number): void {
    for (const w of this.patients.values()) {
      if (w.from >= cutoff) continue;
      for (const [id, r] of w.records) {
        const t = r.treatment.Create_DtTm?.getTime();
        if (t !== undefined && t < cutoff) {
          w.records.delete(id);
          this.cached--;
        }
      }
      w.from = cutoff;
    }
  }

  /** Keeps the cache under `maxRecords` by forgetting the least recently needed patients. */
  private trim(): void {
    for (const [p, w] of this.patients) {
      if (this.cached <= this.maxRecords) break;
      this.cached -= w.records.size;
      this.patients.delete(p);
    }
  }
}
