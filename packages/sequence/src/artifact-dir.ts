import { stat } from 'node:fs/promises';
import { ArtifactError, type LoadedArtifact, loadArtifact } from '@anomalia/core';

/**
 * Loads the artifact directory of a sequence model. A file in its place is refused with a clear
 * error: @anomalia/sequence 0.1 saved single-file JSON models, which this version does not read.
 */
export async function loadSequenceArtifact(path: string, kind: string): Promise<LoadedArtifact> {
  const info = await stat(path).catch(() => null);
  if (info?.isFile()) {
    throw new ArtifactError(
      path,
      '(file)',
      'a file, not an artifact directory: sequence models are artifact directories (manifest.json + weights.bin) since @anomalia/sequence 0.2; single-file models of 0.1 are not read: fit the model again and save it',
    );
  }
  return loadArtifact(path, { kind });
}
