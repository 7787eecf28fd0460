export * from './adapters';
export * from './changes';
export * from './csv';
export {
  type CsvRecord,
  CsvTokenizer,
  formatMosaiqCsv,
  type LocatedRow,
  type MosaiqCsvOptions,
  MosaiqCsvReader,
  type MosaiqCsvResult,
  parseStrictDateTime,
  tokenizeCsv,
} from './csv';
export {
  DUPLICATE_POLICIES,
  type DuplicateExample,
  type DuplicatePolicy,
  type DuplicateReport,
  DuplicateTally,
  rowDifferences,
} from './duplicates';
export * from './example';
export * from './mlc';
export * from './record';
export {
  allTablesPresent,
  assertSourceTables,
  compareSourceTables,
  MissingTablesError,
  parseTableNames,
  type SourceTablesComparison,
  type TablePresence,
} from './source-tables';
export * from './sql-types';
export * from './synthetic/aperture';
export * from './synthetic/clinic';
export * from './synthetic/machines';
export * from './synthetic/plan';
export * from './tables';
