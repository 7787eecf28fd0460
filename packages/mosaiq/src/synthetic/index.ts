/**
 * `@anomalia/mosaiq/synthetic`: a seeded synthetic clinic as messy as a real one, and a small
 * hand-checkable record, for tests, benchmarks and training when no real extract is at hand.
 */
export { type ExampleRecordOptions, exampleRecord } from '../example';
export {
  type ClinicBatch,
  type ClinicOptionsInput,
  ClinicOptionsSchema,
  generateClinic,
  generateRecords,
} from './clinic';
export { AGILITY, DEFAULT_MACHINES, type MachineSpec, MILLENNIUM_120, type MlcModel } from './machines';
