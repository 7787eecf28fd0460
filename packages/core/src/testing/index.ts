/** Test kits for packages built on @anomalia/core: the Detector conformance checks, shared-data paths, artifact tampering, benchmark flags. */

export { positiveIntegerFlag } from './bench-flags';
export {
  type ConformanceCheck,
  type ConformanceData,
  type ConformanceOptions,
  conformanceChecks,
  matrixConformanceData,
  plantedAnomalies,
} from './conformance';
export { sharedDataPath, sharedDir } from './shared-data';
export { editManifest, refusedLoad } from './tamper';
