import { ValidationError } from '@anomalia/core';
import { TABLE_NAMES, type TableName } from './tables';

/**
 * Which Mosaiq tables a source holds. A table an extract did not contain is *absent*: its rows
 * were never looked at, which is not the same as a table that was extracted and is empty (no
 * offsets were recorded). Features computed from an absent table carry no information, and a
 * model trained where it was present must not be applied where it is absent (see
 * `compareSourceTables`).
 */
export interface TablePresence {
  /**
   * True when the source records what its extract contained (an `anomalia-import` database);
   * false for a live Mosaiq or a synthetic clinic, where every table is present.
   */
  recorded: boolean;
  present: TableName[];
  absent: TableName[];
}

/** Every table present (a live Mosaiq database, a synthetic clinic). */
export function allTablesPresent(): TablePresence {
  return { recorded: false, present: [...TABLE_NAMES], absent: [] };
}

/** Validates a list of table names (e.g. read from a model's metadata), in MOSAIQ_TABLES order. */
export function parseTableNames(input: unknown, field = 'tables'): TableName[] {
  if (!Array.isArray(input)) throw new ValidationError(field, 'an array of Mosaiq table names', input);
  const seen = new Set<TableName>();
  input.forEach((name, i) => {
    if (typeof name !== 'string' || !(TABLE_NAMES as readonly string[]).includes(name))
      throw new ValidationError(`${field}[${i}]`, `one of ${TABLE_NAMES.join(', ')}`, name);
    seen.add(name as TableName);
  });
  return TABLE_NAMES.filter((t) => seen.has(t));
}

export interface SourceTablesComparison {
  /** Tables the model was trained with that the source lacks: applying the model is wrong. */
  missing: TableName[];
  /**
   * Tables the source has that the model was trained without: the model never saw their
   * features vary, so they must be extracted as unobserved (`absentTables` of the features).
   */
  unused: TableName[];
}

/** Compares the tables a model was trained with against the tables of a source. */
export function compareSourceTables(
  trainedWith: readonly TableName[],
  source: TablePresence | readonly TableName[],
): SourceTablesComparison {
  const trained = new Set(parseTableNames(trainedWith, 'trainedWith'));
  const present = new Set(
    parseTableNames(Array.isArray(source) ? source : (source as TablePresence).present, 'source'),
  );
  return {
    missing: TABLE_NAMES.filter((t) => trained.has(t) && !present.has(t)),
    unused: TABLE_NAMES.filter((t) => present.has(t) && !trained.has(t)),
  };
}

/** A model is pointed at a source that lacks tables it was trained with. */
export class MissingTablesError extends Error {
  override readonly name = 'MissingTablesError';
  constructor(
    readonly source: string,
    readonly missing: readonly TableName[],
  ) {
    super(
      `${source}: the model was trained with the ${missing.join(', ')} ${missing.length > 1 ? 'tables' : 'table'}, ` +
        `which this source's extract does not contain; every record would look as if its ${missing.join(', ')} ` +
        'rows were missing. Import an extract that includes them, or train a model on this source.',
    );
  }
}

/**
 * Throws a MissingTablesError naming the tables a model was trained with that the source lacks;
 * otherwise returns the comparison (its `unused` tables are to be extracted as unobserved).
 */
export function assertSourceTables(
  trainedWith: readonly TableName[],
  source: TablePresence | readonly TableName[],
  sourceName = 'source',
): SourceTablesComparison {
  const comparison = compareSourceTables(trainedWith, source);
  if (comparison.missing.length > 0) throw new MissingTablesError(sourceName, comparison.missing);
  return comparison;
}
