export { ONNX_ARTIFACT_KIND, ONNX_MODEL_FILE, type OnnxArtifactContent, saveOnnxArtifact } from './artifact';
export { OnnxDetector, type OnnxDetectorParams } from './detector';
export {
  ANOMALIA_ONNX_VERSION,
  buildOnnxModel,
  EXPORT_IR_VERSION,
  EXPORT_OPSET,
  EXPORTABLE_KINDS,
  type ExportableKind,
  type ExportOptions,
  ExportOptionsSchema,
  INPUT_NAME,
  SCORE_OUTPUT,
} from './export';
export {
  DEFAULT_MAX_BYTES,
  type InspectOptions,
  inspectOnnxModel,
  type OnnxModelInfo,
  type OnnxTensorInfo,
  SUPPORTED_DOMAINS,
  SUPPORTED_IR_VERSIONS,
  SUPPORTED_OPSETS,
  sha256Hex,
} from './inspect';
export { type ExportResult, exportOnnx, loadOnnxDetector } from './load';
export {
  type AnomaliaMetadata,
  METADATA_FORMAT,
  METADATA_FORMAT_VERSION,
  METADATA_KEYS,
  readAnomaliaMetadata,
  SCORE_MEANING,
} from './metadata';
export {
  type OnnxLoadOptions,
  OnnxLoadOptionsSchema,
  type OnnxSessionOptions,
  OnnxSessionOptionsSchema,
} from './options';
