/**
 * `@anomalia/db-sqlite/testing`: fixtures for tests of code that reads or writes a Mosaiq-shaped
 * SQLite database (temporary directories, a loaded synthetic clinic, a non-Mosaiq file).
 */
export {
  type Clinic,
  fileFingerprint,
  loadClinic,
  plainDatabase,
  tempDir,
  withoutNegativeZero,
} from './fixtures';
