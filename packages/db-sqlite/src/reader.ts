import { ValidationError } from '@anomalia/core';
import {
  assembleRecords,
  type ChangedTreatment,
  type ChangeOptionsInput,
  type ChangePage,
  DOSE_MATCH_WINDOW_MS,
  decodeTreatmentCursor,
  decodeWatermark,
  encodeTreatmentCursor,
  encodeWatermark,
  type LoadedRecords,
  MOSAIQ_TABLES,
  parseChangeOptions,
  parseTreatmentQuery,
  type ReadOptions,
  type Row,
  RUN_TABLE,
  type SandboxRun,
  TABLE_NAMES,
  type TableName,
  type TablePresence,
  type TableRows,
  type TrackTreatmentRow,
  type TreatmentPage,
  type TreatmentQueryInput,
  type TreatmentReader,
  type TreatmentSummary,
  type Watermark,
} from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
import {
  CHANGE_TRACKED_TABLE,
  hasChangeTracking,
  ROW_VERSION_COLUMN,
  ROW_VERSION_COUNTER_TABLE,
} from './change-tracking';
import { checksumDatabase, type TableChecksums } from './checksum';
import { type OpenOptions, openReadOnly, readRecovering } from './connection';
import { type ExtractRecord, readExtractRecord, tablePresenceOf } from './extract-record';
import { type RunRow, runFromRow } from './ledger';
import { assertSchema, SchemaError } from './schema';
import { quote, TableCodec, tableCodec } from './table-codec';

export type ReaderOptions = OpenOptions;

const SUMMARY_COLUMNS = [
  'TTX_ID',
  'Pat_ID1',
  'FLD_ID',
  'SIT_ID',
  'Machine_ID_Staff_ID',
  'Create_DtTm',
  'Edit_DtTm',
  'WasQAMode',
  'WasBeamComplete',
] as const satisfies readonly (keyof TrackTreatmentRow)[];

/** `column IN (ids of a JSON array)`: one statement for any number of ids, no variable limit. */
const inJson = (column: string, alias = '') => `${alias}${quote(column)} IN (SELECT value FROM json_each(?))`;

/**
 * The TreatmentReader of @anomalia/mosaiq over an SQLite file, opened read-only (the handle
 * cannot write). `loadRecords` runs at most ten queries per call whatever the number of ids, in
 * one read transaction (TrackTreatment, TxField, TxFieldPoint twice, Site, Patient, Ident, Staff,
 * Dose_Hst, Offset, each with `IN (json_each(?))`) and joins with `assembleRecords`; every row
 * read is type-checked.
 */
export class SqliteTreatmentReader implements TreatmentReader {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly summaryCodec = new TableCodec('TrackTreatment', SUMMARY_COLUMNS);

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    private readonly recoverJournal: ReaderOptions['recoverJournal'],
  ) {}

  /** Opens an existing Mosaiq database read-only; a file without the schema is a SchemaError. */
  static open(path: string, options: ReaderOptions = {}): SqliteTreatmentReader {
    const db = openReadOnly(path, options);
    try {
      assertSchema(db, path);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteTreatmentReader(db, path, options.recoverJournal);
  }

  /** A read that survives a writer killed since the handle was opened (see OpenOptions.recoverJournal). */
  private read<T>(fn: () => T): T {
    return readRecovering(this.path, this.recoverJournal, fn);
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql).raw(true);
      this.statements.set(sql, s);
    }
    return s;
  }

  async listTreatments(query: TreatmentQueryInput, options: ReadOptions = {}): Promise<TreatmentPage> {
    options.signal?.throwIfAborted();
    return this.listTreatmentsSync(query);
  }

  /** A page of treatments in (Create_DtTm, TTX_ID) order, with the cursor of the next page. */
  listTreatmentsSync(input: TreatmentQueryInput): TreatmentPage {
    return this.read(() => {
      const q = parseTreatmentQuery(input);
      const where = [`"Create_DtTm" >= ?`, `"Create_DtTm" < ?`];
      const params: (number | string)[] = [q.from.getTime(), q.to.getTime()];
      if (q.cursor !== null) {
        const c = decodeTreatmentCursor(q.cursor);
        where.push(`("Create_DtTm", "TTX_ID") > (?, ?)`);
        params.push(c.createdAt.getTime(), c.ttxId);
      }
      const filters: [keyof TrackTreatmentRow, number[] | undefined][] = [
        ['Machine_ID_Staff_ID', q.machineIds],
        ['Pat_ID1', q.patientIds],
        ['FLD_ID', q.fieldIds],
      ];
      for (const [column, ids] of filters) {
        if (!ids) continue;
        where.push(inJson(column));
        params.push(JSON.stringify(ids));
      }
      if (q.completedOnly) where.push(`"WasBeamComplete" = 1`);
      if (q.qaMode === 'exclude') where.push(`"WasQAMode" IS NOT 1`);
      if (q.qaMode === 'only') where.push(`"WasQAMode" = 1`);
      const sql =
        `SELECT ${this.summaryCodec.selectList} FROM "TrackTreatment" WHERE ${where.join(' AND ')} ` +
        `ORDER BY "Create_DtTm", "TTX_ID" LIMIT ?`;
      params.push(q.pageSize + 1);
      const raws = this.statement(sql).all(...params) as unknown[][];
      const rows = raws
        .slice(0, q.pageSize)
        .map((r) => this.summaryCodec.decode(r) as unknown as TreatmentSummary);
      const last = rows[rows.length - 1];
      const nextCursor =
        raws.length > q.pageSize && last
          ? encodeTreatmentCursor({ createdAt: last.Create_DtTm!, ttxId: last.TTX_ID })
          : null;
      return { items: rows, nextCursor };
    });
  }

  async loadRecords(ids: readonly number[], options: ReadOptions = {}): Promise<LoadedRecords> {
    options.signal?.throwIfAborted();
    return this.loadRecordsSync(ids);
  }

  /** The records of these TrackTreatment ids, in the order asked, plus the ids not found. */
  loadRecordsSync(ids: readonly number[]): LoadedRecords {
    return this.read(() => {
      if (!Array.isArray(ids)) throw new ValidationError('ids', 'an array of TTX_ID integers', ids);
      for (let i = 0; i < ids.length; i++) {
        if (!Number.isSafeInteger(ids[i])) throw new ValidationError(`ids[${i}]`, 'a TTX_ID integer', ids[i]);
      }
      if (ids.length === 0) return { records: [], missingIds: [] };
      // One read transaction: every query of the batch sees the same snapshot, even while a
      // writer commits to the file.
      return this.db.transaction(() => this.load(ids))();
    });
  }

  private load(ids: readonly number[]): LoadedRecords {
    const treatments = this.byKeys('TrackTreatment', 'TTX_ID', ids);
    const byId = new Map<number, TrackTreatmentRow>();
    for (const t of treatments) byId.set(t.TTX_ID, t);
    const ordered: TrackTreatmentRow[] = [];
    const missingIds: number[] = [];
    for (const id of ids) {
      const t = byId.get(id);
      if (t) ordered.push(t);
      else missingIds.push(id);
    }

    const fieldIds = new Set<number>();
    const siteIds = new Set<number>();
    const patientIds = new Set<number>();
    const machineIds = new Set<number>();
    const doseIds = new Set<number>();
    // Dose_Hst candidates of records without DHS_ID: same patient and field within 12 h (the
    // rows `matchDoseHistory` may choose from), one time range per (patient, field).
    const doseWindows = new Map<string, [number, number, number, number]>();
    for (const t of treatments) {
      if (t.FLD_ID !== null) fieldIds.add(t.FLD_ID);
      if (t.SIT_ID !== null) siteIds.add(t.SIT_ID);
      if (t.Pat_ID1 !== null) patientIds.add(t.Pat_ID1);
      if (t.Machine_ID_Staff_ID !== null) machineIds.add(t.Machine_ID_Staff_ID);
      if (t.DHS_ID !== null) doseIds.add(t.DHS_ID);
      else if (
        t.WasBeamOn !== false &&
        t.WasQAMode !== true &&
        t.Create_DtTm !== null &&
        t.Pat_ID1 !== null &&
        t.FLD_ID !== null
      ) {
        const time = t.Create_DtTm.getTime();
        const k = `${t.Pat_ID1}:${t.FLD_ID}`;
        const w = doseWindows.get(k);
        if (!w) doseWindows.set(k, [t.Pat_ID1, t.FLD_ID, time, time]);
        else {
          w[2] = Math.min(w[2], time);
          w[3] = Math.max(w[3], time);
        }
      }
    }

    const fields = this.byKeys('TxField', 'FLD_ID', fieldIds);
    const sites = this.byKeys('Site', 'SIT_ID', siteIds);
    const siteSetIds = new Set<number>();
    for (const s of sites) if (s.SIT_SET_ID !== null) siteSetIds.add(s.SIT_SET_ID);
    for (const f of fields) if (f.SIT_Set_ID !== null) siteSetIds.add(f.SIT_Set_ID);

    const rows: Partial<TableRows> & Pick<TableRows, 'TrackTreatment'> = {
      TrackTreatment: ordered,
      TxField: fields,
      TxFieldPoint: this.controlPoints(fieldIds),
      Site: sites,
      Patient: this.byKeys('Patient', 'Pat_ID1', patientIds),
      Ident: this.byKeys('Ident', 'Pat_Id1', patientIds),
      Staff: this.byKeys('Staff', 'Staff_ID', machineIds),
      Dose_Hst: this.doseRows(doseIds, [...doseWindows.values()]),
      // selectOffsets only ever uses Version-0 rows.
      Offset: this.byKeys('Offset', 'SIT_SET_ID', siteSetIds, `AND "Version" = 0`),
    };
    return { records: assembleRecords(rows), missingIds };
  }

  /** Rows of `table` whose `column` is one of `keys` (one query; none when there are no keys). */
  private byKeys<T extends TableName>(
    table: T,
    column: string,
    keys: Iterable<number>,
    extra = '',
  ): Row<T>[] {
    const list = Array.isArray(keys) ? keys : [...keys];
    if (list.length === 0) return [];
    const codec = tableCodec(table);
    const sql = `SELECT ${codec.selectList} FROM ${quote(table)} WHERE ${inJson(column)} ${extra}`;
    return codec.decodeAll(this.statement(sql).all(JSON.stringify(list)) as unknown[][]);
  }

  /**
   * The control points of some fields. Their two leaf-set blobs are the bulk of a batch, and a
   * Buffer per blob from the driver costs more in allocation and garbage collection than the
   * rest of the row; so the rows come with the blob lengths, and the blobs of the whole batch as
   * one BLOB (concatenated in TFP_ID order by SQLite, byte for byte), which the rows then view.
   * Two queries, inside the caller's read transaction so both see the same data.
   */
  private controlPoints(fieldIds: Set<number>): Row<'TxFieldPoint'>[] {
    if (fieldIds.size === 0) return [];
    const codec = tableCodec('TxFieldPoint');
    const a = codec.columns.indexOf('A_Leaf_Set');
    const b = codec.columns.indexOf('B_Leaf_Set');
    // The length of a BLOB, NULL for NULL, and a string the decoder rejects for anything else.
    const size = (c: string) =>
      `CASE typeof(${quote(c)}) WHEN 'blob' THEN length(${quote(c)}) WHEN 'null' THEN NULL ELSE 'not a BLOB: ' || typeof(${quote(c)}) END`;
    const select = codec.columns.map((c, i) => (i === a || i === b ? size(c) : quote(c))).join(', ');
    const where = `WHERE ${inJson('FLD_ID')}`;
    const ids = JSON.stringify([...fieldIds]);
    const raws = this.statement(`SELECT ${select} FROM "TxFieldPoint" ${where} ORDER BY "TFP_ID"`).all(
      ids,
    ) as unknown[][];
    const blobs = this.statement(
      `SELECT CAST(group_concat(coalesce("A_Leaf_Set", x'') || coalesce("B_Leaf_Set", x''), x'' ORDER BY "TFP_ID") AS BLOB) FROM "TxFieldPoint" ${where}`,
    ).get(ids) as [Uint8Array | null] | undefined;
    const slab = blobs?.[0] ?? new Uint8Array(0);
    let at = 0;
    for (const raw of raws) {
      for (const i of [a, b]) {
        const n = raw[i];
        if (typeof n !== 'number') continue; // NULL, or not a BLOB (the decoder names it)
        raw[i] = new Uint8Array(slab.buffer, slab.byteOffset + at, n);
        at += n;
      }
    }
    // Decoded first, so a value that is not a BLOB is named; then the lengths must add up.
    const rows = codec.decodeAll(raws);
    if (at !== slab.length) {
      throw new Error(`TxFieldPoint: leaf sets read as ${slab.length} bytes, their lengths add up to ${at}`);
    }
    return rows;
  }

  private doseRows(ids: Set<number>, windows: [number, number, number, number][]): Row<'Dose_Hst'>[] {
    if (ids.size === 0 && windows.length === 0) return [];
    const codec = tableCodec('Dose_Hst');
    const d = codec.columns.map((c) => `d.${quote(c)}`).join(', ');
    const sql =
      `SELECT ${codec.selectList} FROM "Dose_Hst" WHERE ${inJson('DHS_ID')} UNION ` +
      `SELECT ${d} FROM json_each(?) AS w JOIN "Dose_Hst" AS d ON d."Pat_ID1" = w.value ->> 0 ` +
      `AND d."FLD_ID" = w.value ->> 1 AND d."Tx_DtTm" BETWEEN w.value ->> 2 AND w.value ->> 3`;
    const ranges = windows.map(([p, f, lo, hi]) => [
      p,
      f,
      lo - DOSE_MATCH_WINDOW_MS,
      hi + DOSE_MATCH_WINDOW_MS,
    ]);
    const raws = this.statement(sql).all(JSON.stringify([...ids]), JSON.stringify(ranges)) as unknown[][];
    return codec.decodeAll(raws);
  }

  async changesSince(
    watermark: Watermark | null,
    options: ChangeOptionsInput & ReadOptions = {},
  ): Promise<ChangePage> {
    const { signal, ...rest } = options;
    signal?.throwIfAborted();
    return this.changesSinceSync(watermark, rest);
  }

  /**
   * TrackTreatment rows inserted or updated after `watermark`, in RowVers order (see
   * `ChangeCursor` of @anomalia/mosaiq). One read transaction: the page and the counter it ends
   * at come from the same snapshot, so a change committed meanwhile is left for the next call.
   */
  changesSinceSync(watermark: Watermark | null, options?: ChangeOptionsInput): ChangePage {
    return this.read(() => {
      const since = watermark === null ? 0n : decodeWatermark(watermark);
      const { limit } = parseChangeOptions(options);
      this.assertChangeTracking();
      return this.db.transaction((): ChangePage => {
        const sql =
          `SELECT ${this.summaryCodec.selectList}, ${quote(ROW_VERSION_COLUMN)} FROM ${quote(CHANGE_TRACKED_TABLE)} ` +
          `WHERE ${quote(ROW_VERSION_COLUMN)} > ? ORDER BY ${quote(ROW_VERSION_COLUMN)} LIMIT ?`;
        const raws = this.statement(sql).all(versionBlob(since), limit + 1) as unknown[][];
        const n = SUMMARY_COLUMNS.length;
        const items: ChangedTreatment[] = raws.slice(0, limit).map((raw) => {
          const summary = this.summaryCodec.decode(raw.slice(0, n)) as unknown as TreatmentSummary;
          return { ...summary, version: this.versionOf(raw[n], summary.TTX_ID) };
        });
        const hasMore = raws.length > limit;
        const safe = this.counter();
        const last = items.length > 0 ? decodeWatermark(items[items.length - 1]!.version) : since;
        const end = hasMore ? last : [since, last, safe].reduce((a, b) => (b > a ? b : a));
        return { since: watermark, items, watermark: encodeWatermark(end), hasMore };
      })();
    });
  }

  async currentWatermark(options: ReadOptions = {}): Promise<Watermark> {
    options.signal?.throwIfAborted();
    return this.currentWatermarkSync();
  }

  /** The counter now: every change so far has a version at or below it. */
  currentWatermarkSync(): Watermark {
    return this.read(() => {
      this.assertChangeTracking();
      return encodeWatermark(this.counter());
    });
  }

  private counter(): bigint {
    const v = this.statement(
      `SELECT "value" FROM ${quote(ROW_VERSION_COUNTER_TABLE)} WHERE "id" = 1`,
    ).get() as [number] | undefined;
    return BigInt(v?.[0] ?? 0);
  }

  private versionOf(value: unknown, key: number): Watermark {
    if (!(value instanceof Uint8Array) || value.length !== 8) {
      throw new ValidationError(
        `${CHANGE_TRACKED_TABLE}[TTX_ID=${key}].${ROW_VERSION_COLUMN}`,
        'an 8-byte row version (set by the change-tracking triggers)',
        value,
      );
    }
    return encodeWatermark(Buffer.from(value.buffer, value.byteOffset, 8).readBigUInt64BE(0));
  }

  private tracking: boolean | null = null;

  private assertChangeTracking(): void {
    this.tracking ??= hasChangeTracking(this.db);
    if (!this.tracking) {
      throw new SchemaError(this.path, [
        `${CHANGE_TRACKED_TABLE}.${ROW_VERSION_COLUMN} and its triggers are missing (a database created before change tracking: run enableChangeTracking on it once)`,
      ]);
    }
  }

  /** Checksums of the Mosaiq tables (see `tableChecksum`). */
  checksum(): TableChecksums {
    return this.read(() => {
      return checksumDatabase(this.db);
    });
  }

  /**
   * Which Mosaiq tables the source holds: from its extract record when it was made by
   * `anomalia-import` (a table the extract lacked is absent, not empty), else all of them.
   */
  tablePresence(): TablePresence {
    return this.read(() => {
      return tablePresenceOf(this.db, this.path);
    });
  }

  /** What the imported extract held per table, or null for a database that was not imported. */
  extractRecord(): ExtractRecord | null {
    return this.read(() => {
      return readExtractRecord(this.db, this.path);
    });
  }

  /**
   * Runs of a sandbox still applied (not restored), oldest first; none for a database that is not
   * a sandbox. Its Mosaiq tables hold corrupted rows while any is listed.
   */
  unrestoredRuns(): SandboxRun[] {
    return this.read(() => {
      const hasRuns = this.db
        .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
        .get(RUN_TABLE);
      if (!hasRuns) return [];
      const rows = this.db
        .prepare(`SELECT * FROM ${quote(RUN_TABLE)} WHERE status = 'applied' ORDER BY seq`)
        .all() as RunRow[];
      return rows.map(runFromRow);
    });
  }

  /** Rows per Mosaiq table. */
  tableCounts(): Record<TableName, number> {
    return this.read(() => {
      return countRows(this.db);
    });
  }

  /**
   * The highest primary key of every table (null for an empty table): what a key allocator needs
   * as its floor when new rows (e.g. a duplicated treatment) must not collide with rows outside
   * the records it has seen.
   */
  maxKeys(): Record<TableName, number | null> {
    return this.read(() => {
      const out = {} as Record<TableName, number | null>;
      for (const table of TABLE_NAMES) {
        const pk = MOSAIQ_TABLES[table].primaryKey;
        out[table] = this.db
          .prepare(`SELECT max(${quote(pk)}) FROM ${quote(table)}`)
          .pluck()
          .get() as number | null;
      }
      return out;
    });
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.db.open) this.db.close();
  }
}

/** A row version as SQLite stores it: 8 bytes, big-endian. */
function versionBlob(version: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(version);
  return b;
}

export function countRows(db: Database.Database): Record<TableName, number> {
  const out = {} as Record<TableName, number>;
  for (const table of TABLE_NAMES) {
    out[table] = db
      .prepare(`SELECT count(*) FROM ${quote(table)}`)
      .pluck()
      .get() as number;
  }
  return out;
}

/** Opens a read-only reader (see SqliteTreatmentReader). */
export function openTreatmentReader(path: string, options: ReaderOptions = {}): SqliteTreatmentReader {
  return SqliteTreatmentReader.open(path, options);
}
