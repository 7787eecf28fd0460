export { checksumTables, type TableChecksums, tableChecksum } from './checksum';
export { type ClientRole, type Isolation, MssqlClient, type RequestOptions } from './client';
export {
  type DeclaredColumn,
  type DeclaredTypeName,
  declaration,
  ROW_VERSION_COLUMN,
  ROW_VERSIONED_TABLES,
  SANDBOX_COLUMNS,
  storedValue,
  toDatetimeGrid,
  toDecimalScale,
} from './column-types';
export {
  type MssqlSettings,
  type MssqlSettingsInput,
  MssqlSettingsSchema,
  type MssqlTarget,
  type MssqlTargetInput,
  mssqlTarget,
  redactConnectionText,
  Secret,
} from './config';
export { isTransient, MssqlConnectionError, MssqlQueryError, QueryCancelledError } from './errors';
export { MssqlTreatmentReader, openTreatmentReader, type ReaderOptions } from './reader';
export {
  createSandbox,
  isSandbox,
  loadRows,
  markAsSandbox,
  type SandboxInfo,
  type SandboxOptions,
  type SandboxOrigin,
  sandboxInfo,
} from './sandbox';
export { ANOMALIA_SCHEMA, SANDBOX_INDEXES, SchemaError, type TableColumns } from './schema';
export { MssqlSandboxWriter, openSandboxWriter, type WriterOptions } from './writer';
