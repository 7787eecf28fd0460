import { existsSync } from 'node:fs';
import { Rng, ValidationError } from '@anomalia/core';
import {
  createSandbox,
  openSandboxWriter,
  openTreatmentReader,
  type SqliteSandboxWriter,
  type SqliteTreatmentReader,
} from '@anomalia/db-sqlite';
import {
  createCohort,
  createKeyAllocator,
  type FailureApplication,
  type FailureVariant,
  failureCatalogue,
  type KeyAllocator,
  NotApplicableError,
} from '@anomalia/failure-modes';
import {
  type Change,
  emptyTableRows,
  MOSAIQ_TABLES,
  TABLE_NAMES,
  type TableRows,
  type TrackTreatmentRow,
} from '@anomalia/mosaiq';
import { mosaiqWallClock } from '../source/clock';
import { type ClinicSpec, clinicContinuation, clinicSpanDays, type FeedItem } from './feed';
import { type LedgerEntry, SimulatorLedger, type Truth } from './ledger';

const DAY = 86_400_000;
/** Keys a corruption allocates (a duplicate's TTX_ID, an orphan's dangling id) sit this far above the feed's. */
const ALLOCATOR_HEADROOM = 50_000_000;

export interface SimulatorOptions {
  /** The SQLite sandbox to create and write to (it must not exist yet). */
  readonly sandbox: string;
  /** The synthetic clinic replayed (the seed and size `pnpm start` trains on). */
  readonly clinic: ClinicSpec;
  /** Simulated clinic days appended (ending three days before today, so nothing is in the future). */
  readonly days: number;
  /** Seed of the corruptions (which deliveries, which modes). */
  readonly seed: number;
  /** Share of new deliveries (completed, non-QA beams) corrupted. */
  readonly corruptionRate: number;
  /** Failure-mode kinds to draw from: `accidental`, and `malicious` where the catalogue has them. */
  readonly kinds: readonly ('accidental' | 'malicious')[];
  /** JSONL file of what was inserted and corrupted. */
  readonly ledger: string;
  readonly now?: () => number;
}

/** What one step did. */
export interface SimulatorStep {
  readonly treatment: TrackTreatmentRow;
  readonly delivery: boolean;
  readonly corruption: FailureApplication | null;
  readonly runId: string;
}

const isDelivery = (t: TrackTreatmentRow) => t.WasBeamComplete === true && t.WasQAMode !== true;

/**
 * A live simulated clinic: it appends new treatments to a sandbox copy of the synthetic clinic
 * (through the sandbox writer of @anomalia/db-sqlite, so the change cursor sees each insert) and
 * corrupts a share of the new deliveries with a failure mode drawn from the catalogue, in the
 * same transaction as the insert: a monitor never reads a corrupted treatment before its
 * corruption. Every treatment and corruption is written to the ledger, with the truth the
 * monitor's alerts are checked against: a corrupted record's mode, variant and band, and the
 * later fractions of a field whose plan rows a corruption changed (inherited).
 */
export class ClinicSimulator {
  private readonly rng: Rng;
  private readonly catalogue = failureCatalogue;
  private readonly variants: FailureVariant[];
  /** Fields whose plan rows (TxField, TxFieldPoint) a corruption changed: later fractions carry its truth. */
  private readonly corruptedFields = new Map<number, Truth>();
  /** Other rows a corruption changed (a session's offsets, a dose record): so do later records joining them. */
  private readonly corruptedRows = new Map<string, Truth>();
  private readonly ledger: SimulatorLedger;
  private readonly now: () => number;
  private inserted = 0;

  private constructor(
    private readonly o: SimulatorOptions,
    private readonly writer: SqliteSandboxWriter,
    private readonly reader: SqliteTreatmentReader,
    private readonly feed: Generator<FeedItem, void, undefined>,
    private readonly keys: KeyAllocator,
  ) {
    this.rng = new Rng(o.seed);
    this.now = o.now ?? Date.now;
    this.ledger = new SimulatorLedger(o.ledger);
    this.variants = this.catalogue.variants({ kinds: [...o.kinds] });
    if (!this.variants.length)
      throw new ValidationError(
        'simulator.kinds',
        'kinds the failure-mode catalogue has modes of (accidental)',
        o.kinds,
      );
  }

  /**
   * Creates the sandbox: the synthetic clinic (generated again from its seed, so it is the same
   * clinic) re-dated to end `days + 3` days ago, marked as a sandbox; the feed then carries the
   * clinic on from there, day after day, up to three days ago.
   */
  static async open(o: SimulatorOptions): Promise<ClinicSimulator> {
    if (!(o.corruptionRate >= 0 && o.corruptionRate <= 1))
      throw new ValidationError('simulator.corruptionRate', 'a share in [0, 1]', o.corruptionRate);
    if (existsSync(o.sandbox))
      throw new ValidationError(
        'source.database.path',
        'a path where the simulator creates its sandbox (it exists: remove it, or start the demo with simulator.fresh)',
        o.sandbox,
      );
    const now = o.now ?? Date.now;
    const today = Math.floor(mosaiqWallClock(now()).getTime() / DAY) * DAY;
    const span = clinicSpanDays(o.clinic);
    const start = new Date(today - (o.days + 3 + span) * DAY);
    createSandbox(o.sandbox, { clinic: { seed: o.clinic.seed, records: o.clinic.records, start } });
    // The writer first: it refuses anything but a marked sandbox before a row is read.
    const writer = openSandboxWriter(o.sandbox);
    const reader = openTreatmentReader(o.sandbox);
    const max = reader.maxKeys();
    const keys = createKeyAllocator({
      floor: Object.fromEntries(TABLE_NAMES.map((t) => [t, (max[t] ?? 0) + ALLOCATOR_HEADROOM])),
    });
    const feed = clinicContinuation(o.clinic, start, span + o.days);
    return new ClinicSimulator(o, writer, reader, feed, keys);
  }

  /** Treatments inserted so far. */
  get count(): number {
    return this.inserted;
  }

  /** Inserts the next treatment (corrupted or not) in one sandbox transaction; null when the feed is done. */
  async step(): Promise<SimulatorStep | null> {
    const next = this.feed.next();
    if (next.done) return null;
    const { treatment, rows } = next.value;
    const delivery = isDelivery(treatment);
    let app: FailureApplication | null = null;
    if (delivery && treatment.Pat_ID1 !== null && this.rng.random() < this.o.corruptionRate)
      app = this.corrupt(treatment, rows);
    const inserts: Change[] = TABLE_NAMES.flatMap((table) =>
      (rows[table] as unknown as Record<string, unknown>[]).map((row) => ({
        kind: 'insert' as const,
        table,
        key: row[MOSAIQ_TABLES[table].primaryKey] as number,
        row: row as never,
      })),
    );
    const run = await this.writer.apply([...inserts, ...(app?.changes ?? [])], {
      label: app
        ? `new treatment ${treatment.TTX_ID}, ${app.mode}/${app.variant}`
        : `new treatment ${treatment.TTX_ID}`,
      ...(app ? { mode: app.mode, variant: app.variant } : {}),
      seed: this.o.seed,
    });
    this.inserted++;
    const at = this.now();
    const entries: LedgerEntry[] = [];
    const truths = new Map<number, Truth>();
    if (app) {
      const truth = (role: Truth['role']): Truth => ({
        mode: app.mode,
        variant: app.variant,
        kind: app.kind,
        severity: app.severity,
        band: app.band,
        role,
        runId: run.runId,
      });
      for (const id of app.contextTtxIds) truths.set(id, truth('context'));
      for (const id of app.affectedTtxIds) truths.set(id, truth('affected'));
      truths.set(app.primaryTtxId, truth('injected'));
      for (const c of app.changes) {
        if (c.table === 'TxField' || c.table === 'TxFieldPoint') {
          const field = c.table === 'TxField' ? c.key : (rowOf(c)?.FLD_ID as number | undefined);
          for (const f of field === undefined ? app.fieldIds : [field])
            this.corruptedFields.set(f, truth('inherited'));
        } else this.corruptedRows.set(`${c.table}:${c.key}`, truth('inherited'));
      }
      entries.push({
        type: 'corruption',
        at,
        runId: run.runId,
        mode: app.mode,
        variant: app.variant,
        kind: app.kind,
        severity: app.severity,
        band: app.band,
        targetTtxId: app.targetTtxId,
        primaryTtxId: app.primaryTtxId,
        affectedTtxIds: [...app.affectedTtxIds],
        summary: app.summary,
      });
    }
    // Every TrackTreatment row this transaction inserted: the new one, and a duplicate's copy.
    const insertedTreatments = [
      treatment,
      ...(app?.changes ?? [])
        .filter((c) => c.kind === 'insert' && c.table === 'TrackTreatment')
        .map((c) => (c as { row: unknown }).row as TrackTreatmentRow),
    ];
    for (const t of insertedTreatments) {
      entries.push({
        type: 'treatment',
        at,
        ttxId: t.TTX_ID,
        delivery: isDelivery(t),
        truth: truths.get(t.TTX_ID) ?? this.inheritedTruth(t.TTX_ID),
      });
    }
    this.ledger.append(entries);
    return { treatment, delivery, corruption: app, runId: run.runId };
  }

  /** Steps at `rate` treatments per second until the feed ends or `signal` aborts. */
  async run(options: {
    rate: number;
    signal: AbortSignal;
    onStep?: (s: SimulatorStep) => void;
  }): Promise<void> {
    const interval = 1000 / options.rate;
    let due = performance.now();
    while (!options.signal.aborted) {
      const step = await this.step();
      if (!step) return;
      options.onStep?.(step);
      due += interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait, options.signal);
      else due = performance.now();
    }
  }

  /**
   * The truth of a record no corruption targeted: that of an earlier corruption whose rows it
   * joins (its field's plan, its session's offsets, its dose record), read back as stored.
   */
  private inheritedTruth(ttxId: number): Truth | null {
    if (!this.corruptedFields.size && !this.corruptedRows.size) return null;
    const r = this.reader.loadRecordsSync([ttxId]).records[0];
    if (!r) return null;
    const t = r.treatment;
    const field = t.FLD_ID === null ? undefined : this.corruptedFields.get(t.FLD_ID);
    if (field) return field;
    const joined = [
      r.site && `Site:${r.site.SIT_ID}`,
      r.patient && `Patient:${r.patient.Pat_ID1}`,
      r.doseHistory && `Dose_Hst:${r.doseHistory.DHS_ID}`,
      r.offset && `Offset:${r.offset.OFF_ID}`,
      ...r.sessionOffsets.map((o) => `Offset:${o.OFF_ID}`),
    ];
    for (const key of joined) {
      const truth = key ? this.corruptedRows.get(key) : undefined;
      if (truth) return truth;
    }
    return null;
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.reader.close();
  }

  /**
   * A failure mode applied to the new delivery, drawn among the variants that apply to it, on the
   * cohort of its patient: every row the sandbox holds for them, and the rows of this insert.
   */
  private corrupt(treatment: TrackTreatmentRow, rows: TableRows): FailureApplication | null {
    const stored = loadPatientCohortSync(this.reader, treatment);
    const cohort = createCohort(mergeRows(stored, rows));
    const order = this.rng.permutation(this.variants.length);
    for (const i of order) {
      const v = this.variants[i]!;
      try {
        return this.catalogue.apply(v.mode, {
          variant: v.id,
          target: treatment.TTX_ID,
          cohort,
          rng: this.rng,
          keys: this.keys,
        });
      } catch (error) {
        if (error instanceof NotApplicableError) continue;
        throw error;
      }
    }
    return null;
  }
}

/** Every row behind the stored treatments of a patient (their fields, points, sites, offsets...). */
function loadPatientCohortSync(reader: SqliteTreatmentReader, t: TrackTreatmentRow): TableRows {
  const ids: number[] = [];
  let cursor: string | null = null;
  do {
    const page = reader.listTreatmentsSync({
      from: new Date('1753-01-01T00:00:00Z'),
      to: new Date('9999-12-31T00:00:00Z'),
      patientIds: [t.Pat_ID1!],
      pageSize: 10_000,
      cursor,
    });
    for (const item of page.items) ids.push(item.TTX_ID);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return createCohort(reader.loadRecordsSync(ids).records).rows as TableRows;
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The row an insert or delete carries (an update names its key only). */
const rowOf = (c: Change): Record<string, unknown> | undefined =>
  c.kind === 'update' ? undefined : (c.row as Record<string, unknown>);

/** `a` plus the rows of `b` whose keys `a` lacks. */
function mergeRows(a: TableRows, b: TableRows): TableRows {
  const out = emptyTableRows();
  for (const table of TABLE_NAMES) {
    const pk = MOSAIQ_TABLES[table].primaryKey;
    const seen = new Set<unknown>();
    for (const row of [
      ...(a[table] as unknown as Record<string, unknown>[]),
      ...(b[table] as unknown as Record<string, unknown>[]),
    ]) {
      if (seen.has(row[pk])) continue;
      seen.add(row[pk]);
      (out[table] as unknown[]).push(row);
    }
  }
  return out;
}
