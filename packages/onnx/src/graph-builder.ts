import {
  type AttributeProto,
  AttributeType,
  DataType,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto';

type AttributeValue = number | number[] | string | { float: number };

/** Element types of graph values this package writes. */
export type ElementType = 'float32' | 'float64';
export const ELEMENT_TYPE: Record<ElementType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
};

/** A dimension: a fixed size, or a named symbolic one (e.g. the batch "N"). */
export type Dim = number | string;

/**
 * Collects the nodes and initializers of one ONNX graph. Every value gets a unique, readable
 * name (`<prefix>_<k>`), so a graph printed by Netron or onnx.helper reads like the model.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();

  private fresh(prefix: string): string {
    let name = prefix;
    for (let k = 1; this.used.has(name); k++) name = `${prefix}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name given from outside (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`graph value name "${name}" is used twice`);
    this.used.add(name);
    return name;
  }

  /** A float32 constant (weights). */
  float(name: string, data: Float32Array | readonly number[], dims: number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    return this.constant(name, DataType.FLOAT, bytesOf(values), dims, values.length);
  }

  /** A float64 constant (the scaler's statistics: applied in double, as in Anomalia). */
  double(name: string, data: Float64Array | readonly number[], dims: number[]): string {
    const values = data instanceof Float64Array ? data : Float64Array.from(data);
    return this.constant(name, DataType.DOUBLE, bytesOf(values), dims, values.length);
  }

  int64(name: string, data: readonly number[], dims: number[]): string {
    return this.constant(name, DataType.INT64, bytesOf(BigInt64Array.from(data, BigInt)), dims, data.length);
  }

  private constant(name: string, dataType: number, raw: Uint8Array, dims: number[], count: number): string {
    if (dims.reduce((a, b) => a * b, 1) !== count) {
      throw new Error(`constant ${name}: dims [${dims}] do not hold ${count} values`);
    }
    const unique = this.fresh(name);
    this.initializers.push({ name: unique, dims, data_type: dataType, raw_data: raw });
    return unique;
  }

  /** Adds a node; returns its output name (`output` names it, else one derived from the op). */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    output?: string,
  ): string {
    const out = output ? this.reserve(output) : this.fresh(opType.toLowerCase());
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`,
      op_type: opType,
      input: inputs,
      output: [out],
      attribute: Object.entries(attributes).map(([name, v]) => attribute(name, v)),
    });
    return out;
  }
}

function attribute(name: string, v: AttributeValue): AttributeProto {
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  if (typeof v === 'object') return { name, type: AttributeType.FLOAT, f: v.float };
  return { name, type: AttributeType.INT, i: v };
}

/** The little-endian bytes of a typed array (TensorProto.raw_data is little-endian). */
function bytesOf(a: Float32Array | Float64Array | BigInt64Array): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  const size = a.BYTES_PER_ELEMENT;
  for (let k = 0; k < a.length; k++) {
    if (a instanceof Float32Array) view.setFloat32(k * size, a[k]!, true);
    else if (a instanceof Float64Array) view.setFloat64(k * size, a[k]!, true);
    else view.setBigInt64(k * size, a[k]!, true);
  }
  return out;
}

/** A tensor-typed graph input or output. */
export function valueInfo(name: string, type: ElementType, dims: Dim[], doc?: string): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ELEMENT_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
    ...(doc ? { doc_string: doc } : {}),
  };
}
