import protobuf from 'protobufjs/light.js';
import schema from './onnx-proto.json';

/**
 * The ONNX protobuf messages, from the official onnx.proto (see scripts/proto-json.ts) loaded
 * into protobufjs's reflection: field names are the specification's (snake_case), so the
 * errors this package raises name fields as ONNX documents them.
 */
const root = protobuf.Root.fromJSON(schema as protobuf.INamespace);
const ModelProtoType = root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
/** AttributeProto.AttributeType values used here. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
/** TensorProto.DataLocation.EXTERNAL: the tensor's bytes live in another file. */
export const DATA_LOCATION_EXTERNAL = 1;

/** An int64 as protobufjs decodes it: a number, or a Long when the `long` package is present. */
export type Int64 = number | { toNumber(): number };
export const toNumber = (v: Int64 | null | undefined): number =>
  v == null ? 0 : typeof v === 'number' ? v : v.toNumber();

export interface TensorProto {
  name?: string;
  dims?: Int64[];
  data_type?: number;
  raw_data?: Uint8Array;
  data_location?: number;
  external_data?: { key?: string; value?: string }[];
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  floats?: number[];
  ints?: Int64[];
}

export interface NodeProto {
  name?: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
}

export interface DimensionProto {
  dim_value?: Int64;
  dim_param?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: DimensionProto[] } };
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  doc_string?: string;
}

export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  doc_string?: string;
}

export interface OperatorSetIdProto {
  domain?: string;
  version?: Int64;
}

export interface ModelProto {
  ir_version?: Int64;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: { key?: string; value?: string }[];
}

/** Serialises a model (throws when the object does not fit the schema). */
export function encodeModel(model: ModelProto): Uint8Array {
  const problem = ModelProtoType.verify(model as Record<string, unknown>);
  if (problem) throw new Error(`ONNX ModelProto does not fit onnx.proto: ${problem}`);
  return ModelProtoType.encode(model as Record<string, unknown>).finish();
}

/** Parses bytes as a ModelProto; throws protobufjs's error on bytes that are not one. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return ModelProtoType.decode(bytes) as unknown as ModelProto;
}

/** Whether a decoded message carries a value for an optional (proto2) field. */
export const hasField = (message: object | undefined, field: string): boolean =>
  message !== undefined && Object.hasOwn(message, field);
