import { ValidationError } from '@anomalia/core';
import { MOSAIQ_TABLES, TABLE_NAMES, type TableName, type TableRows } from '@anomalia/mosaiq';

/** SQL Server `int`: every primary key here is one. */
const INT_MAX = 2_147_483_647;

/**
 * Hands out primary keys that no row has, for inserted rows (a duplicate TrackTreatment) and for
 * references that must dangle (an orphaned Pat_ID1). Keys above the highest known key of a table
 * are free; every key handed out or claimed is remembered, so one allocator shared by every
 * application of a plan never gives the same key twice.
 *
 * When the cohort is only part of a database, pass the database's highest keys as `floor`
 * (`SELECT MAX(TTX_ID) FROM TrackTreatment`, ...): a key is only free when it is above them.
 */
export interface KeyAllocator {
  /** A key of `table` that no row has and that was never returned or claimed before. */
  allocate(table: TableName): number;
  /** True only when `key` is certainly unused: above every known key and never handed out. */
  isFree(table: TableName, key: number): boolean;
  /** Marks a key as used (e.g. an explicit dangling id chosen by the caller). */
  claim(table: TableName, key: number): void;
}

export interface KeyAllocatorOptions {
  /** Rows whose keys are taken (usually the cohort's rows). */
  rows?: Partial<TableRows>;
  /** The highest key known to exist per table, e.g. from `SELECT MAX(...)` on the database. */
  floor?: Partial<Record<TableName, number>>;
}

export function createKeyAllocator(options: KeyAllocatorOptions = {}): KeyAllocator {
  for (const [table, floor] of Object.entries(options.floor ?? {})) {
    if (!TABLE_NAMES.includes(table as TableName)) {
      throw new ValidationError(`floor.${table}`, `a table: ${TABLE_NAMES.join(', ')}`);
    }
    if (!Number.isInteger(floor)) {
      throw new ValidationError(`floor.${table}`, 'an integer (the highest existing key)', floor);
    }
  }
  const ceilings = new Map<TableName, number>();
  const claimed = new Map<TableName, Set<number>>();
  // The lowest key not yet handed out: allocation is amortised O(1) even after thousands of inserts.
  const next = new Map<TableName, number>();
  // The highest known key of a table, computed on first use (most applications touch one or two tables).
  const ceiling = (table: TableName): number => {
    let max = ceilings.get(table);
    if (max === undefined) {
      if (!TABLE_NAMES.includes(table)) {
        throw new ValidationError('table', `one of ${TABLE_NAMES.join(', ')}`, table);
      }
      max = Math.max(0, options.floor?.[table] ?? 0);
      const pk = MOSAIQ_TABLES[table].primaryKey;
      for (const row of options.rows?.[table] ?? []) {
        const key = (row as Record<string, unknown>)[pk];
        if (typeof key === 'number' && key > max) max = key;
      }
      ceilings.set(table, max);
      claimed.set(table, new Set());
    }
    return max;
  };
  const taken = (table: TableName) => {
    ceiling(table);
    return claimed.get(table)!;
  };
  return {
    allocate(table) {
      const used = taken(table);
      let key = next.get(table) ?? ceiling(table) + 1;
      while (used.has(key)) key++;
      if (key > INT_MAX) throw new ValidationError(`${table} key`, `a free int key ≤ ${INT_MAX}`, key);
      used.add(key);
      next.set(table, key + 1);
      return key;
    },
    isFree(table, key) {
      return Number.isInteger(key) && key > ceiling(table) && key <= INT_MAX && !taken(table).has(key);
    },
    claim(table, key) {
      taken(table).add(key);
    },
  };
}
