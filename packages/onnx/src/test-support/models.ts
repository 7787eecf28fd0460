import { type Dim, type ElementType, GraphBuilder, valueInfo } from '../graph-builder';
import { encodeModel, type ModelProto } from '../proto';

export interface TinyModelOptions {
  features?: number;
  inputs?: { name: string; type?: ElementType; dims?: Dim[] }[];
  outputDims?: Dim[];
  opset?: number;
  domain?: string;
  irVersion?: number;
  metadata?: Record<string, string>;
  /** Edits the ModelProto before encoding (for malformed models). */
  edit?: (m: ModelProto) => void;
}

/**
 * A small valid scoring model: score = sum over columns of (x · w) with w = 1, 2, …, d, i.e. a
 * linear score one can check by hand. Options make it wrong in one chosen way.
 */
export function tinyModel(options: TinyModelOptions = {}): Uint8Array {
  const d = options.features ?? 3;
  const g = new GraphBuilder();
  const inputs = options.inputs ?? [{ name: 'x' }];
  for (const i of inputs) g.reserve(i.name);
  const w = g.float(
    'w',
    Array.from({ length: d }, (_, j) => j + 1),
    [d, 1],
  );
  let h = inputs[0]!.type === 'float64' ? g.op('Cast', [inputs[0]!.name], { to: 1 }) : inputs[0]!.name;
  if (inputs.length > 1) h = g.op('Add', [h, inputs[1]!.name]);
  const s = g.op('MatMul', [h, w]);
  g.op('Reshape', [s, g.int64('flat', [-1], [1])], {}, 'score');
  const model: ModelProto = {
    ir_version: options.irVersion ?? 8,
    opset_import: [{ domain: options.domain ?? '', version: options.opset ?? 17 }],
    producer_name: 'anomalia-tests',
    graph: {
      name: 'tiny',
      node: g.nodes,
      initializer: g.initializers,
      input: inputs.map((i) => valueInfo(i.name, i.type ?? 'float32', i.dims ?? ['N', d])),
      output: [valueInfo('score', 'float32', options.outputDims ?? ['N'])],
    },
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  options.edit?.(model);
  return encodeModel(model);
}
