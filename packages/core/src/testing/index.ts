/** Test kits for packages built on @anomalia/core: the Detector conformance checks and shared-data paths. */
export {
  type ConformanceCheck,
  type ConformanceOptions,
  conformanceChecks,
  plantedAnomalies,
} from './conformance';
export { sharedDataPath, sharedDir } from './shared-data';
