// The change cursor's tracking (RowVers kept by triggers), for databases made before it existed.
export { CHANGE_TRACKED_TABLE, enableChangeTracking, ROW_VERSION_COLUMN } from './change-tracking';
export { type TableChecksums, tableChecksum, tableChecksums } from './checksum';
export type { OpenOptions } from './connection';
export {
  EXTRACT_TABLE,
  type ExtractRecord,
  type ExtractTableRecord,
  readExtractRecord,
  tablePresenceOf,
} from './extract-record';
export { type CliIo, formatImportSummary, IMPORT_USAGE, runImportCli } from './import-cli';
export {
  type ImportOptionsInput,
  type ImportProgress,
  type ImportSummary,
  type ImportTableSummary,
  importExtract,
  SKIPPED_MOSAIQ_TABLES,
  tableOfFile,
} from './import-extract';
export { createClinicDatabase, type LoadSummary, MosaiqLoader, type TableCounts } from './loader';
export { openTreatmentReader, type ReaderOptions, SqliteTreatmentReader } from './reader';
export {
  openThreadedTreatmentReader,
  type ThreadedReaderOptions,
  type ThreadedTreatmentReader,
} from './reader-thread';
export { RECOVER_USAGE, runRecoverCli } from './recover-cli';
export {
  HotJournalError,
  JOURNAL_RECOVERY_POLICIES,
  type JournalRecovery,
  type RecoveryReport,
  recoverCommand,
  recoverDatabase,
} from './recovery';
export {
  cloneAsSandbox,
  createSandbox,
  isSandbox,
  markAsSandbox,
  type ReadOptions as SandboxReadOptions,
  type SandboxInfo,
  type SandboxOrigin,
  sandboxInfo,
} from './sandbox';
export { createTableSql, INDEXES, SchemaError } from './schema';
export { SQLITE_STORAGE, type SqliteStorage } from './sqlite-types';
export { openSandboxWriter, SqliteSandboxWriter } from './writer';
