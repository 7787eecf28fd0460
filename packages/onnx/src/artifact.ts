import { type CalibratorState, type Manifest, saveArtifact, type Threshold } from '@anomalia/core';
import { z } from 'zod';
import type { OnnxModelInfo } from './inspect';

/** Artifact kind of an ONNX model directory, and the name of its model file. */
export const ONNX_ARTIFACT_KIND = 'onnx';
export const ONNX_MODEL_FILE = 'model.onnx';

/** `state` of an "onnx" artifact (extra keys are informational). */
export const OnnxArtifactStateSchema = z.looseObject({
  nFeatures: z.number().int().positive(),
  inputName: z.string(),
  scoreOutput: z.string(),
  /** Kind of the model the graph was exported from ("external" for models made elsewhere). */
  source: z.string(),
});

export interface OnnxArtifactContent {
  bytes: Uint8Array;
  info: OnnxModelInfo;
  nFeatures: number;
  source: string;
  featureNames: readonly string[] | null;
  threshold: Threshold | null;
  calibrator: CalibratorState | null;
  metrics?: Record<string, unknown>;
}

/** Writes an "onnx" artifact: manifest.json (names, threshold, calibrator) and model.onnx, both checksummed. */
export function saveOnnxArtifact(dir: string, c: OnnxArtifactContent): Promise<Manifest> {
  return saveArtifact(dir, {
    kind: ONNX_ARTIFACT_KIND,
    params: { scoreOutput: c.info.scoreOutput.name },
    featureNames: c.featureNames ? [...c.featureNames] : null,
    scaler: null,
    threshold: c.threshold,
    calibrator: c.calibrator,
    metrics: c.metrics,
    state: {
      nFeatures: c.nFeatures,
      inputName: c.info.input.name,
      inputType: c.info.input.type,
      scoreOutput: c.info.scoreOutput.name,
      source: c.source,
      opset: c.info.opset,
      irVersion: c.info.irVersion,
      modelSha256: c.info.sha256,
    },
    files: { [ONNX_MODEL_FILE]: c.bytes },
  });
}
