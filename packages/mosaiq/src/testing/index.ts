/** Test kits for packages built on @anomalia/mosaiq: the adapter conformance checks and their harness helpers. */
export {
  type AdapterCheck,
  type AdapterConformance,
  type AdapterConformanceOptions,
  adapterConformance,
} from './adapter-conformance';
export { type AdapterDatabase, type AdapterHarness, storedRows, withoutNegativeZero } from './harness';
