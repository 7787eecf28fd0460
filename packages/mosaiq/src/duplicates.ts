import { ValidationError } from '@anomalia/core';
import { MOSAIQ_TABLES, type Row, type TableName } from './tables';

/**
 * What to do with a row whose primary key an earlier row of the same table already has.
 * Identical duplicates (the same value in every column Anomalia reads, see MOSAIQ_TABLES) are
 * always dropped: they say nothing new. A conflicting duplicate is an error under `error` (the
 * default: which row is right cannot be known), or dropped under `keep-first`. Either way every
 * dropped row is counted and reported, never silent.
 */
export const DUPLICATE_POLICIES = ['error', 'keep-first'] as const;
export type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number];

/** One dropped row, for reports (the first few of each table are kept). */
export interface DuplicateExample {
  key: number;
  /** Where the dropped row is, e.g. `Staff.csv line 104`. */
  where: string;
  /** Where the kept row with the same key is, when known. */
  firstWhere: string | null;
  /** Columns whose values differ from the kept row (empty for an identical duplicate). */
  columns: string[];
}

/** Rows dropped from one table because their key was taken. */
export interface DuplicateReport {
  table: TableName;
  policy: DuplicatePolicy;
  identical: number;
  conflicting: number;
  /** Up to `DuplicateTally.MAX_EXAMPLES` of each kind, in the order met. */
  examples: DuplicateExample[];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
}

/** The columns Anomalia reads (MOSAIQ_TABLES) in which two rows of a table differ. */
export function rowDifferences<T extends TableName>(table: T, a: Row<T>, b: Row<T>): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const column of Object.keys(MOSAIQ_TABLES[table].columns)) {
    if (!sameValue(ra[column] ?? null, rb[column] ?? null)) out.push(column);
  }
  return out;
}

/**
 * Counts the duplicates of one table under a policy and throws on a conflicting one under
 * `error`. Shared by the CSV reader (duplicates within a text) and the SQLite import (duplicates
 * across files, found by the database).
 */
export class DuplicateTally {
  static readonly MAX_EXAMPLES = 10;
  private identical = 0;
  private conflicting = 0;
  private readonly examples: DuplicateExample[] = [];
  private identicalExamples = 0;
  private conflictingExamples = 0;

  constructor(
    readonly table: TableName,
    readonly policy: DuplicatePolicy = 'error',
  ) {
    if (!(DUPLICATE_POLICIES as readonly string[]).includes(policy))
      throw new ValidationError('onDuplicate', `one of ${DUPLICATE_POLICIES.join(', ')}`, policy);
  }

  /**
   * A row at `where` has primary key `key`, already taken by the row at `firstWhere`; `columns`
   * are those that differ. Records it as dropped, or throws a ValidationError naming both places
   * and the columns when it conflicts and the policy is `error`.
   */
  add(key: number, where: string, firstWhere: string | null, columns: readonly string[]): void {
    const pk = MOSAIQ_TABLES[this.table].primaryKey;
    if (columns.length > 0 && this.policy === 'error') {
      throw new ValidationError(
        `${where}: ${this.table}.${pk}`,
        `a key no earlier row has, or an identical copy of that row: ${pk} ${key} is already ` +
          `${firstWhere ? `on ${firstWhere} ` : 'loaded '}with other values in ${columns.join(', ')} ` +
          '(--on-duplicate keep-first, or onDuplicate: "keep-first", keeps the first row and reports the others)',
        key,
      );
    }
    const example = { key, where, firstWhere, columns: [...columns] };
    if (columns.length === 0) {
      this.identical++;
      if (this.identicalExamples++ < DuplicateTally.MAX_EXAMPLES) this.examples.push(example);
    } else {
      this.conflicting++;
      if (this.conflictingExamples++ < DuplicateTally.MAX_EXAMPLES) this.examples.push(example);
    }
  }

  get dropped(): number {
    return this.identical + this.conflicting;
  }

  report(): DuplicateReport {
    return {
      table: this.table,
      policy: this.policy,
      identical: this.identical,
      conflicting: this.conflicting,
      examples: this.examples.map((e) => ({ ...e, columns: [...e.columns] })),
    };
  }
}
