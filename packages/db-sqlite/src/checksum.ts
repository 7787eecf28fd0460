import { createHash, type Hash } from 'node:crypto';
import { MOSAIQ_TABLES, TABLE_NAMES, type TableName } from '@anomalia/mosaiq';
import type Database from 'better-sqlite3';
import { CHANGE_TRACKED_TABLE, ROW_VERSION_COLUMN } from './change-tracking';
import { type OpenOptions, openReadOnly } from './connection';
import { assertSchema } from './schema';
import { quote } from './table-codec';

export interface TableChecksums {
  /** SHA-256 (hex) over the per-table hashes, in table order. */
  total: string;
  /** SHA-256 (hex) of each Mosaiq table. */
  tables: Record<TableName, string>;
}

/** Feeds a hash in large chunks (one update per value would dominate the time). */
class ChunkedHash {
  private readonly buffer = Buffer.allocUnsafe(1 << 16);
  private at = 0;
  constructor(private readonly hash: Hash) {}

  private room(n: number): void {
    if (this.at + n > this.buffer.length) this.flush();
  }
  digest(): string {
    this.flush();
    return this.hash.digest('hex');
  }
  flush(): void {
    if (this.at > 0) this.hash.update(this.buffer.subarray(0, this.at));
    this.at = 0;
  }
  byte(b: number): void {
    this.room(1);
    this.buffer[this.at++] = b;
  }
  ascii(s: string): void {
    this.room(s.length);
    this.at += this.buffer.write(s, this.at, 'latin1');
  }
  float(v: number): void {
    this.room(8);
    this.at = this.buffer.writeDoubleLE(v, this.at);
  }
  bytes(b: Uint8Array): void {
    if (b.length > this.buffer.length - this.at) {
      this.flush();
      this.hash.update(b);
      return;
    }
    this.buffer.set(b, this.at);
    this.at += b.length;
  }
}

/**
 * A stable hash of one table: its name, its column names, then every row in primary-key order,
 * each value tagged with its SQLite storage class (INTEGER, REAL as its 8 IEEE bytes, TEXT as
 * UTF-8, BLOB byte for byte, NULL) so that no two different contents hash alike by accident.
 * Every column counts except TrackTreatment.RowVers: like SQL Server's rowversion it changes with
 * any write, so a run and its exact restore leave it different.
 */
function hashTable(db: Database.Database, table: TableName): string {
  const h = new ChunkedHash(createHash('sha256'));
  const pk = MOSAIQ_TABLES[table].primaryKey;
  const columns = (db.prepare(`PRAGMA table_info(${quote(table)})`).all() as { name: string }[])
    .map((c) => c.name)
    .filter((c) => !(table === CHANGE_TRACKED_TABLE && c === ROW_VERSION_COLUMN));
  const stmt = db
    .prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} ORDER BY ${quote(pk)}`)
    .raw(true)
    .safeIntegers(true);
  h.ascii(
    `${table}\0${stmt
      .columns()
      .map((c) => c.name)
      .join('\0')}\n`,
  );
  for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
    for (const v of row) {
      if (v === null)
        h.byte(0x4e); // N
      else if (typeof v === 'bigint') h.ascii(`I${v};`);
      else if (typeof v === 'number') {
        h.byte(0x52); // R
        h.float(v);
      } else if (typeof v === 'string') {
        const bytes = Buffer.from(v, 'utf8');
        h.ascii(`T${bytes.length}:`);
        h.bytes(bytes);
      } else {
        const bytes = v as Uint8Array;
        h.ascii(`B${bytes.length}:`);
        h.bytes(bytes);
      }
    }
    h.byte(0x0a);
  }
  return h.digest();
}

/** Checksums of every Mosaiq table of an open database (Anomalia_* bookkeeping tables excluded). */
export function checksumDatabase(db: Database.Database): TableChecksums {
  const tables = {} as Record<TableName, string>;
  const total = createHash('sha256');
  for (const table of TABLE_NAMES) {
    tables[table] = hashTable(db, table);
    total.update(`${table}:${tables[table]}\n`);
  }
  return { total: total.digest('hex'), tables };
}

/**
 * `tableChecksum(path)`: a stable SHA-256 over every row of every Mosaiq table (blobs included;
 * the Anomalia_* bookkeeping tables, indexes and TrackTreatment.RowVers excluded), read through a read-only handle. Equal
 * before a run and after its restore.
 */
export function tableChecksum(path: string, options: Pick<OpenOptions, 'recoverJournal'> = {}): string {
  return tableChecksums(path, options).total;
}

/** The total and per-table checksums (to see which table differs). */
export function tableChecksums(
  path: string,
  options: Pick<OpenOptions, 'recoverJournal'> = {},
): TableChecksums {
  const db = openReadOnly(path, options);
  try {
    assertSchema(db, path);
    return checksumDatabase(db);
  } finally {
    db.close();
  }
}
