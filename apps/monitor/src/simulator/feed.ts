import { TABLE_NAMES, type TableRows, type TrackTreatmentRow } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';

const DAY = 86_400_000;

/** The synthetic clinic a demo replays: the generator's seed and size (what `pnpm start` trains on). */
export interface ClinicSpec {
  readonly seed: number;
  readonly records: number;
}

/** One new TrackTreatment row and the rows to insert with it (the rows of a new simulated day). */
export interface FeedItem {
  readonly treatment: TrackTreatmentRow;
  /** Rows to insert in the same transaction, the TrackTreatment row included. */
  readonly rows: TableRows;
}

/** Whole days from the clinic's first day to its last treatment (generated once: about 2 s for 60 000). */
export function clinicSpanDays(clinic: ClinicSpec): number {
  const start = Date.UTC(2024, 0, 1);
  let last = start;
  for (const batch of generateClinic({
    seed: clinic.seed,
    records: clinic.records,
    start: new Date(start),
    batchSize: 5000,
  }))
    for (const r of batch.records) {
      const t = r.treatment.Create_DtTm?.getTime();
      if (t !== undefined && t > last) last = t;
    }
  return Math.floor((last - start) / DAY) + 1;
}

/**
 * The treatments after the clinic's first `clinic.records` (the generator is deterministic: the
 * same seed and start give the same clinic, and it carries on from there), from the day after
 * its last, one at a time in time order: the courses of the clinic go on, new ones start. A simulated day's other rows (new
 * patients, sites, fields with their control points, dose records, set-up offsets) come with its
 * first treatment; each TrackTreatment row comes with its own item.
 */
export function* clinicContinuation(
  clinic: ClinicSpec,
  start: Date,
  days: number,
): Generator<FeedItem, void, undefined> {
  let seen = 0;
  let resumed = false;
  for (const batch of generateClinic({ seed: clinic.seed, start, days, records: 10_000_000, batchSize: 1 })) {
    seen += batch.records.length;
    if (seen <= clinic.records) continue;
    // The rest of the clinic's last day is left out (the sandbox may hold only part of that day's
    // rows): the feed resumes with the next simulated day, whose rows come with its first batch.
    if (!resumed && TABLE_NAMES.every((t) => t === 'TrackTreatment' || batch.rows[t].length === 0)) continue;
    resumed = true;
    let first = true;
    for (const record of batch.records) {
      const rows = Object.fromEntries(
        TABLE_NAMES.map((t) => [t, first && t !== 'TrackTreatment' ? [...batch.rows[t]] : []]),
      ) as unknown as TableRows;
      rows.TrackTreatment.push(record.treatment);
      first = false;
      yield { treatment: record.treatment, rows };
    }
  }
}
