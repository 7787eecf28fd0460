/** Test kits for packages built on @anomalia/mosaiq: the adapter conformance checks and their harness helpers, control points read again. */
export {
  type AdapterCheck,
  type AdapterConformance,
  type AdapterConformanceOptions,
  adapterConformance,
} from './adapter-conformance';
export { rereadPoints, withColumnChanged } from './control-points';
export { type AdapterDatabase, type AdapterHarness, storedRows, withoutNegativeZero } from './harness';
