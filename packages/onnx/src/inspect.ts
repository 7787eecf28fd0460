import { createHash } from 'node:crypto';
import { ArtifactError } from '@anomalia/core';
import type { ElementType } from './graph-builder';
import {
  DATA_LOCATION_EXTERNAL,
  DataType,
  decodeModel,
  hasField,
  type ModelProto,
  type TensorProto,
  toNumber,
  type ValueInfoProto,
} from './proto';

/** Default size limit of a model file: far above any tabular scorer, below what would exhaust memory. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/** Default-domain opsets accepted (onnxruntime-node 1.31 runs all of them). */
export const SUPPORTED_OPSETS = { min: 9, max: 21 } as const;
/** IR versions accepted (3: opset 7 era … 10: ONNX 1.16). */
export const SUPPORTED_IR_VERSIONS = { min: 3, max: 10 } as const;
/** Operator domains a model may import: the standard ones and onnxruntime's contrib ops. */
export const SUPPORTED_DOMAINS: readonly string[] = ['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft'];

export interface InspectOptions {
  /** Name of the file, for error messages (default "model.onnx"). */
  file?: string;
  maxBytes?: number;
  /** The output holding the score; default: the one named "score", else the only output. */
  scoreOutput?: string;
}

export interface OnnxTensorInfo {
  name: string;
  type: ElementType;
  /** Dimensions: a number when fixed, a string (the symbolic name, or "?") when not. */
  dims: (number | string)[];
}

/** What validation found out about a model: enough to run it as a row scorer. */
export interface OnnxModelInfo {
  file: string;
  bytes: number;
  /** sha256 of the file's bytes (lowercase hex). */
  sha256: string;
  irVersion: number;
  /** Default-domain opset. */
  opset: number;
  producer: { name: string; version: string };
  input: OnnxTensorInfo;
  /** Fixed input width, or null when the model leaves it symbolic. */
  features: number | null;
  /** 1 when the model only accepts one row per run (fixed batch dimension); null when dynamic. */
  fixedBatch: 1 | null;
  scoreOutput: OnnxTensorInfo;
  outputNames: string[];
  metadata: Record<string, string>;
}

const ELEMENT_TYPES: Record<number, ElementType> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
};

/**
 * Checks, before any session exists, that `bytes` are an ONNX model this package can run as a
 * row scorer: size, a ModelProto at all, IR version, opset range and domains, self-contained
 * weights, one float or double input [N, d], and a float or double score output [N] or [N, 1].
 * Every failure is an ArtifactError naming the file and the ModelProto field.
 */
export function inspectOnnxModel(bytes: Uint8Array, options: InspectOptions = {}): OnnxModelInfo {
  const file = options.file ?? 'model.onnx';
  const fail = (field: string, message: string): never => {
    throw new ArtifactError(file, field, message);
  };
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.byteLength === 0) fail('(file)', 'empty: not an ONNX model');
  if (bytes.byteLength > maxBytes) {
    fail('(file)', `${bytes.byteLength} bytes is above the size limit of ${maxBytes} bytes (maxBytes)`);
  }
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    return fail('(protobuf)', `not an ONNX ModelProto (truncated or not ONNX): ${(e as Error).message}`);
  }

  const ir = toNumber(model.ir_version);
  if (!hasField(model, 'ir_version') || !Number.isInteger(ir)) {
    fail('ir_version', 'missing: not an ONNX ModelProto');
  }
  if (ir < SUPPORTED_IR_VERSIONS.min || ir > SUPPORTED_IR_VERSIONS.max) {
    fail('ir_version', `expected ${SUPPORTED_IR_VERSIONS.min}–${SUPPORTED_IR_VERSIONS.max}, found ${ir}`);
  }
  const graph = model.graph;
  if (!hasField(model, 'graph') || !graph) return fail('graph', 'missing: not an ONNX ModelProto');

  let opset: number | null = null;
  (model.opset_import ?? []).forEach((o, i) => {
    const domain = o.domain ?? '';
    const v = toNumber(o.version);
    if (!SUPPORTED_DOMAINS.includes(domain)) {
      fail(
        `opset_import[${i}].domain`,
        `expected one of ${SUPPORTED_DOMAINS.map((s) => `"${s}"`).join(', ')}, found "${domain}" (custom operators cannot run here)`,
      );
    }
    if (domain === '' || domain === 'ai.onnx') {
      if (v < SUPPORTED_OPSETS.min || v > SUPPORTED_OPSETS.max) {
        fail(
          `opset_import[${i}].version`,
          `expected opset ${SUPPORTED_OPSETS.min}–${SUPPORTED_OPSETS.max}, found ${v}`,
        );
      }
      opset = v;
    }
  });
  if (opset === null) fail('opset_import', 'no default-domain ("" or "ai.onnx") opset: not an ONNX model');

  const initializers = graph.initializer ?? [];
  initializers.forEach((t, i) => {
    if (isExternal(t)) {
      fail(
        `graph.initializer[${i}].data_location`,
        `tensor "${t.name}" keeps its data in an external file: only self-contained models are loaded`,
      );
    }
  });

  const constant = new Set(initializers.map((t) => t.name));
  const inputs = (graph.input ?? []).map((v, i) => ({ v, i })).filter(({ v }) => !constant.has(v.name));
  if (inputs.length !== 1) {
    fail(
      'graph.input',
      `expected exactly one input [N, d], found ${inputs.length}${inputs.length ? ` (${inputs.map(({ v }) => `"${v.name}"`).join(', ')})` : ''}`,
    );
  }
  const { v: inputValue, i: inputIndex } = inputs[0]!;
  const input = tensorInfo(inputValue, `graph.input[${inputIndex}]`, fail);
  if (input.dims.length !== 2) {
    fail(
      `graph.input[${inputIndex}].type.tensor_type.shape`,
      `expected rank 2 [N, d], found rank ${input.dims.length} [${input.dims}]`,
    );
  }
  const [batch, width] = input.dims as [number | string, number | string];
  if (typeof batch === 'number' && batch !== 1) {
    fail(
      `graph.input[${inputIndex}].type.tensor_type.shape.dim[0]`,
      `expected a dynamic batch dimension (or 1), found fixed ${batch}: export with a dynamic batch axis`,
    );
  }
  if (typeof width === 'number' && width < 1) {
    fail(
      `graph.input[${inputIndex}].type.tensor_type.shape.dim[1]`,
      `expected a positive number of features, found ${width}`,
    );
  }

  const outputs = graph.output ?? [];
  if (outputs.length === 0) fail('graph.output', 'expected at least one output (the score), found none');
  let scoreIndex: number;
  if (options.scoreOutput !== undefined) {
    scoreIndex = outputs.findIndex((o) => o.name === options.scoreOutput);
    if (scoreIndex < 0) {
      fail(
        'graph.output',
        `no output named "${options.scoreOutput}" (scoreOutput); outputs: ${outputs.map((o) => `"${o.name}"`).join(', ')}`,
      );
    }
  } else {
    scoreIndex = outputs.length === 1 ? 0 : outputs.findIndex((o) => o.name === 'score');
    if (scoreIndex < 0) {
      fail(
        'graph.output',
        `${outputs.length} outputs and none named "score": name the score output (scoreOutput) among ${outputs.map((o) => `"${o.name}"`).join(', ')}`,
      );
    }
  }
  const scoreOutput = tensorInfo(outputs[scoreIndex]!, `graph.output[${scoreIndex}]`, fail);
  const rank = scoreOutput.dims.length;
  if (!(rank === 1 || (rank === 2 && (scoreOutput.dims[1] === 1 || scoreOutput.dims[1] === '?')))) {
    fail(
      `graph.output[${scoreIndex}].type.tensor_type.shape`,
      `expected one score per row, [N] or [N, 1], found [${scoreOutput.dims}]`,
    );
  }

  const metadata: Record<string, string> = {};
  (model.metadata_props ?? []).forEach((p, i) => {
    const key = p.key ?? '';
    if (Object.hasOwn(metadata, key)) fail(`metadata_props[${i}].key`, `"${key}" appears twice`);
    metadata[key] = p.value ?? '';
  });

  return {
    file,
    bytes: bytes.byteLength,
    sha256: sha256Hex(bytes),
    irVersion: ir,
    opset: opset!,
    producer: { name: model.producer_name ?? '', version: model.producer_version ?? '' },
    input,
    features: typeof width === 'number' ? width : null,
    fixedBatch: batch === 1 ? 1 : null,
    scoreOutput,
    outputNames: outputs.map((o) => o.name),
    metadata,
  };
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function isExternal(t: TensorProto): boolean {
  return t.data_location === DATA_LOCATION_EXTERNAL || (t.external_data?.length ?? 0) > 0;
}

function tensorInfo(
  v: ValueInfoProto,
  field: string,
  fail: (field: string, message: string) => never,
): OnnxTensorInfo {
  const tensor = v.type?.tensor_type;
  if (!tensor)
    return fail(
      `${field}.type`,
      `"${v.name}": expected a tensor, found ${v.type ? 'a non-tensor type' : 'no type'}`,
    );
  const type = ELEMENT_TYPES[tensor.elem_type ?? 0];
  if (!type) {
    fail(
      `${field}.type.tensor_type.elem_type`,
      `"${v.name}": expected float (1) or double (11), found ${tensor.elem_type ?? 'none'}`,
    );
  }
  if (!tensor.shape)
    fail(`${field}.type.tensor_type.shape`, `"${v.name}": missing (the shape must be declared)`);
  const dims = (tensor.shape!.dim ?? []).map((d) =>
    hasField(d, 'dim_value') ? toNumber(d.dim_value) : d.dim_param || '?',
  );
  return { name: v.name, type: type!, dims };
}
