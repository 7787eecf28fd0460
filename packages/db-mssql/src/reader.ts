import { ValidationError } from '@anomalia/core';
import {
  assembleRecords,
  type ChangedTreatment,
  type ChangeOptionsInput,
  type ChangePage,
  DOSE_MATCH_WINDOW_MS,
  decodeWatermark,
  encodeTreatmentCursor,
  encodeWatermark,
  type LoadedRecords,
  MOSAIQ_TABLES,
  parseChangeOptions,
  parseTreatmentQuery,
  type Row,
  TABLE_NAMES,
  type TableName,
  type TableRows,
  type TrackTreatmentRow,
  type TreatmentPage,
  type TreatmentQueryInput,
  type TreatmentReader,
  type TreatmentSummary,
  type Watermark,
} from '@anomalia/mosaiq';
import { MssqlClient, type QueryResult, type RequestOptions, type Transaction } from './client';
import { ROW_VERSION_COLUMN } from './column-types';
import { type MssqlTargetInput, mssqlTarget } from './config';
import {
  changesStatement,
  countsStatement,
  type DependentIds,
  dependentUnits,
  listTreatmentsStatement,
  maxKeysStatement,
  packUnits,
  SUMMARY_COLUMNS,
  safePointStatement,
  treatmentUnits,
} from './read-queries';
import { RowDecoder, rowDecoder } from './row-decoder';
import { probeMosaiqSchema, SchemaError, type TableColumns } from './schema';
import type { Statement } from './statement';

export interface ReaderOptions {
  /** Called with the text of every request sent (never parameter values), e.g. to count queries. */
  onQuery?: (sql: string) => void;
  /** Where the password variable is looked up (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Reads the 8-byte row version the driver returns. */
function versionOf(value: unknown, key: number): bigint {
  if (!(value instanceof Uint8Array) || value.length !== 8) {
    throw new ValidationError(
      `TrackTreatment[TTX_ID=${key}].${ROW_VERSION_COLUMN}`,
      'an 8-byte rowversion',
      value,
    );
  }
  return Buffer.from(value.buffer, value.byteOffset, 8).readBigUInt64BE(0);
}

/**
 * The TreatmentReader of @anomalia/mosaiq on SQL Server: it connects with ApplicationIntent
 * ReadOnly (unless told otherwise) and only ever sends SELECTs. `loadRecords` is set-wise: the
 * TrackTreatment rows of the ids (ids in lists of up to 1000 parameters), then every other table
 * by the ids those rows reference, all in a few requests whatever the batch size, joined by
 * `assembleRecords` like every adapter. With `isolation: snapshot` each call reads one snapshot.
 */
export class MssqlTreatmentReader implements TreatmentReader {
  private readonly summary = new RowDecoder('TrackTreatment', SUMMARY_COLUMNS);

  private constructor(
    private readonly client: MssqlClient,
    /** The declared columns of the Mosaiq tables (what the database reported when opened). */
    readonly columns: TableColumns,
  ) {}

  /** Connects and checks the Mosaiq schema; a database without it is a SchemaError. */
  static async open(input: MssqlTargetInput, options: ReaderOptions = {}): Promise<MssqlTreatmentReader> {
    const target = mssqlTarget(input, { env: options.env });
    const client = await MssqlClient.connect(target, { role: 'reader', onQuery: options.onQuery });
    try {
      const columns = await probeMosaiqSchema(client, target.settings.schema);
      return new MssqlTreatmentReader(client, columns);
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** `host:port/database as user`. */
  get label(): string {
    return this.client.label;
  }

  private get schema(): string {
    return this.client.target.settings.schema;
  }

  /** Runs `f` with one snapshot for all its requests when the isolation is `snapshot`. */
  private read<T>(f: (q: Transaction['query']) => Promise<T>, options: RequestOptions): Promise<T> {
    if (this.client.target.settings.isolation === 'snapshot') {
      return this.client.transaction('snapshot', (tx) => f((s, o) => tx.query(s, o)), options);
    }
    return f((s, o) => this.client.query(s, { ...options, ...o }));
  }

  async listTreatments(input: TreatmentQueryInput, options: RequestOptions = {}): Promise<TreatmentPage> {
    const q = parseTreatmentQuery(input);
    const statement = listTreatmentsStatement(this.schema, q);
    const { sets } = await this.read((query) => query(statement, options), options);
    const raws = sets[0]?.rows ?? [];
    const items = raws.slice(0, q.pageSize).map((r) => this.summary.decode(r) as unknown as TreatmentSummary);
    const last = items[items.length - 1];
    const nextCursor =
      raws.length > q.pageSize && last
        ? encodeTreatmentCursor({ createdAt: last.Create_DtTm!, ttxId: last.TTX_ID })
        : null;
    return { items, nextCursor };
  }

  async changesSince(
    watermark: Watermark | null,
    options: ChangeOptionsInput & RequestOptions = {},
  ): Promise<ChangePage> {
    const since = watermark === null ? 0n : decodeWatermark(watermark);
    const { signal, ...rest } = options;
    const { limit } = parseChangeOptions(rest);
    if (!this.columns.TrackTreatment.some((c) => c.name.toLowerCase() === ROW_VERSION_COLUMN.toLowerCase())) {
      throw new SchemaError(this.label, [
        `TrackTreatment.${ROW_VERSION_COLUMN} (rowversion) is missing: no change cursor`,
      ]);
    }
    const statement = changesStatement(this.schema, since, limit);
    const { sets } = await this.read((query) => query(statement, { signal }), { signal });
    const raws = sets[0]?.rows ?? [];
    const n = SUMMARY_COLUMNS.length;
    const items: ChangedTreatment[] = raws.slice(0, limit).map((raw) => {
      const summary = this.summary.decode(raw.slice(0, n)) as unknown as TreatmentSummary;
      return { ...summary, version: encodeWatermark(versionOf(raw[n], summary.TTX_ID)) };
    });
    const hasMore = raws.length > limit;
    const safe = versionOf(sets[1]?.rows[0]?.[0], 0) - 1n;
    const last = items.length > 0 ? decodeWatermark(items[items.length - 1]!.version) : since;
    const end = hasMore ? last : [since, last, safe].reduce((a, b) => (b > a ? b : a));
    return { since: watermark, items, watermark: encodeWatermark(end), hasMore };
  }

  async currentWatermark(options: RequestOptions = {}): Promise<Watermark> {
    const { sets } = await this.client.query(safePointStatement(), options);
    const safe = versionOf(sets[0]?.rows[0]?.[0], 0) - 1n;
    return encodeWatermark(safe < 0n ? 0n : safe);
  }

  async loadRecords(ids: readonly number[], options: RequestOptions = {}): Promise<LoadedRecords> {
    if (!Array.isArray(ids)) throw new ValidationError('ids', 'an array of TTX_ID integers', ids);
    for (let i = 0; i < ids.length; i++) {
      if (!Number.isInteger(ids[i]) || ids[i]! < -2147483648 || ids[i]! > 2147483647) {
        throw new ValidationError(`ids[${i}]`, 'a TTX_ID integer (an SQL int)', ids[i]);
      }
    }
    if (ids.length === 0) return { records: [], missingIds: [] };
    return this.read((query) => this.load(ids, query, options), options);
  }

  private async lookup(
    requests: ReturnType<typeof packUnits>,
    query: Transaction['query'],
    options: RequestOptions,
  ): Promise<Partial<Record<TableName, unknown[][]>>> {
    const out: Partial<Record<TableName, unknown[][]>> = {};
    for (const r of requests) {
      const result: QueryResult = await query(r.statement, options);
      r.tables.forEach((table, i) => {
        const rows = result.sets[i]?.rows ?? [];
        const list = out[table];
        if (list) for (const row of rows) list.push(row);
        else out[table] = [...rows];
      });
    }
    return out;
  }

  private async load(
    ids: readonly number[],
    query: Transaction['query'],
    options: RequestOptions,
  ): Promise<LoadedRecords> {
    const distinct = [...new Set(ids)];
    const phase1 = await this.lookup(packUnits(treatmentUnits(this.schema, distinct)), query, options);
    const treatments = rowDecoder('TrackTreatment').decodeAll(phase1.TrackTreatment ?? []);
    const byId = new Map<number, TrackTreatmentRow>();
    for (const t of treatments) byId.set(t.TTX_ID, t);
    const ordered: TrackTreatmentRow[] = [];
    const missingIds: number[] = [];
    for (const id of ids) {
      const t = byId.get(id);
      if (t) ordered.push(t);
      else missingIds.push(id);
    }
    const deps = dependentIds(treatments);
    const phase2 = await this.lookup(packUnits(dependentUnits(this.schema, deps)), query, options);
    const rows: Partial<TableRows> & Pick<TableRows, 'TrackTreatment'> = { TrackTreatment: ordered };
    for (const table of TABLE_NAMES) {
      if (table === 'TrackTreatment') continue;
      // Offset and Dose_Hst rows can come from two lookups: keep one per key.
      (rows as Record<TableName, unknown[]>)[table] = distinctByKey(
        table,
        rowDecoder(table).decodeAll(phase2[table] ?? []),
      );
    }
    return { records: assembleRecords(rows), missingIds };
  }

  /**
   * The highest primary key of every table (null for an empty one), so inserted rows (a
   * duplicated treatment) take keys above everything in the database.
   */
  async maxKeys(options: RequestOptions = {}): Promise<Record<TableName, number | null>> {
    return this.oneRow(maxKeysStatement(this.schema), options);
  }

  /** Rows per Mosaiq table. */
  async tableCounts(options: RequestOptions = {}): Promise<Record<TableName, number>> {
    return this.oneRow(countsStatement(this.schema), options) as Promise<Record<TableName, number>>;
  }

  private async oneRow(
    statement: Statement,
    options: RequestOptions,
  ): Promise<Record<TableName, number | null>> {
    const { sets } = await this.client.query(statement, options);
    const row = sets[0]?.rows[0] ?? [];
    const out = {} as Record<TableName, number | null>;
    TABLE_NAMES.forEach((t, i) => {
      const v = row[i];
      out[t] = v === null || v === undefined ? null : Number(v);
    });
    return out;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Which rows phase two fetches, from the TrackTreatment rows (the same rule as db-sqlite). */
function dependentIds(treatments: readonly TrackTreatmentRow[]): DependentIds {
  const fields = new Set<number>();
  const sites = new Set<number>();
  const patients = new Set<number>();
  const machines = new Set<number>();
  const doses = new Set<number>();
  const windowPatients = new Set<number>();
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const t of treatments) {
    if (t.FLD_ID !== null) fields.add(t.FLD_ID);
    if (t.SIT_ID !== null) sites.add(t.SIT_ID);
    if (t.Pat_ID1 !== null) patients.add(t.Pat_ID1);
    if (t.Machine_ID_Staff_ID !== null) machines.add(t.Machine_ID_Staff_ID);
    if (t.DHS_ID !== null) doses.add(t.DHS_ID);
    // Rows that `matchDoseHistory` matches by patient, field and time.
    else if (
      t.WasBeamOn !== false &&
      t.WasQAMode !== true &&
      t.Create_DtTm !== null &&
      t.Pat_ID1 !== null &&
      t.FLD_ID !== null
    ) {
      windowPatients.add(t.Pat_ID1);
      lo = Math.min(lo, t.Create_DtTm.getTime());
      hi = Math.max(hi, t.Create_DtTm.getTime());
    }
  }
  return {
    fieldIds: [...fields],
    siteIds: [...sites],
    patientIds: [...patients],
    machineIds: [...machines],
    doseIds: [...doses],
    doseWindow:
      windowPatients.size === 0
        ? null
        : {
            patientIds: [...windowPatients],
            from: new Date(lo - DOSE_MATCH_WINDOW_MS),
            to: new Date(hi + DOSE_MATCH_WINDOW_MS),
          },
  };
}

function distinctByKey<T extends TableName>(table: T, rows: Row<T>[]): Row<T>[] {
  const pk = MOSAIQ_TABLES[table].primaryKey;
  const seen = new Set<unknown>();
  const out: Row<T>[] = [];
  for (const r of rows) {
    const k = (r as Record<string, unknown>)[pk];
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out;
}

/** Connects a reader (see MssqlTreatmentReader.open). */
export function openTreatmentReader(
  input: MssqlTargetInput,
  options: ReaderOptions = {},
): Promise<MssqlTreatmentReader> {
  return MssqlTreatmentReader.open(input, options);
}
