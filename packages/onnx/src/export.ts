import {
  ArtifactError,
  type LoadedArtifact,
  MANIFEST_FILE,
  parseArtifactWith,
  parseWith,
  requireTensor,
  ScalerParamSchema,
  type ScalerState,
  WEIGHTS_FILE,
} from '@anomalia/core';
import { z } from 'zod';
import { version as packageVersion } from '../package.json';
import { type ElementType, GraphBuilder, valueInfo } from './graph-builder';
import { METADATA_FORMAT, METADATA_FORMAT_VERSION, METADATA_KEYS, SCORE_MEANING } from './metadata';
import { DataType, encodeModel, type ModelProto } from './proto';

/** The opset and IR version of exported models: LayerNormalization is in the default domain from opset 17. */
export const EXPORT_OPSET = 17;
export const EXPORT_IR_VERSION = 8;
/** The Anomalia (this package's) version written into exported models. */
export const ANOMALIA_ONNX_VERSION: string = packageVersion;

/** Artifact kinds that can be exported. */
export const EXPORTABLE_KINDS = ['energy-model', 'autoencoder', 'variational-autoencoder'] as const;
export type ExportableKind = (typeof EXPORTABLE_KINDS)[number];

/** Names of the exported graph's values. */
export const INPUT_NAME = 'features';
export const SCORE_OUTPUT = 'score';

/** The neural package's LayerNorm epsilon (and PyTorch's default). */
const LAYER_NORM_EPSILON = 1e-5;
/** The neural package's batch-norm epsilon (PyTorch's BatchNorm1d default, as neural trains with it). */
const BATCH_NORM_EPSILON = 1e-5;

export const ExportOptionsSchema = z.strictObject({
  /**
   * Element type of the graph input. "float64" (default): the scaler runs in double, exactly as
   * `Detector.score` does, so scores match it. "float32": for runtimes that only feed float;
   * inputs are rounded to float32 before scaling, which moves scores slightly.
   */
  inputType: z.enum(['float64', 'float32']).default('float64'),
  /** ModelProto.doc_string. */
  docString: z.string().optional(),
});
export type ExportOptions = z.input<typeof ExportOptionsSchema>;

/**
 * One block of a saved network, read strictly: every key changes what the block computes or is
 * known to change nothing at inference, and an unknown key is an error naming it, so a layer
 * feature added to the models later can never be silently left out of the graph.
 */
const LayerSchema = z
  .strictObject({
    inputs: z.number().int().positive(),
    outputs: z.number().int().positive(),
    /** LayerNorm after the Linear (γ, β: `<net>.<i>.gamma|beta`). */
    norm: z.boolean(),
    /**
     * BatchNorm1d after the Linear (γ, β and the running statistics `<net>.<i>.runningMean|runningVar`;
     * absent in artifacts written before batch norm existed).
     */
    batchNorm: z.boolean().default(false),
    activation: z.enum(['relu', 'linear']),
    /** Dropout is the identity at inference. */
    dropout: z.number().min(0).lt(1),
    /** How the weights were initialised before training: no effect on the trained graph. */
    init: z.string().optional(),
  })
  .refine((l) => !(l.norm && l.batchNorm), {
    error: 'a block with LayerNorm or batch norm, not both',
  });
type Layer = z.infer<typeof LayerSchema>;

/** The part of a neural artifact's `state` the export reads (other keys are allowed). */
const NeuralStateSchema = z.looseObject({
  nFeatures: z.number().int().positive(),
  weightsFormat: z.literal('float32'),
  networks: z.array(z.strictObject({ name: z.string(), layers: z.array(LayerSchema).min(1) })).min(1),
});
type Net = z.infer<typeof NeuralStateSchema>['networks'][number];

const VaeStateSchema = z.looseObject({
  latentCentroid: z.array(z.number()).min(1),
  latentScale: z.array(z.number().positive()).min(1),
  reconstructionScale: z.number().positive(),
  distanceScale: z.number().positive(),
});
const VaeParamsSchema = z.looseObject({
  latent: z.number().int().positive(),
  alpha: z.number().min(0),
  /** Which latent term the VAE scores with (absent in artifacts older than the choice). */
  score: z.string().optional(),
});
/** The `scaler` parameter of a matrix detector (absent in artifacts of models without one). */
const ScalerParamsSchema = z.looseObject({ scaler: ScalerParamSchema.optional() });

/** Reads a part of the artifact with a schema; a mismatch names manifest.json and the field. */
function read<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  return parseArtifactWith(schema, value, MANIFEST_FILE, root);
}

/**
 * Builds the ONNX model (opset 17) of a saved EnergyModel, AutoEncoder or VariationalAutoEncoder
 * artifact. It depends only on the artifact format: the network structure in `state.networks`,
 * the float32 weights `<network>.<layer>.W|b|gamma|beta`, the scaler, threshold and calibrator.
 *
 * Graph: input `features` [N, d] (raw features) → the scaler (Where(IsNaN) for imputation, Sub,
 * Div, Add, Clip, in double) → Cast to float → Gemm, LayerNormalization, Relu per block → the
 * score `score` [N] (energy; reconstruction MSE per row; for the VAE the normalised
 * reconstruction error plus α × the latent distance), computed in the graph. The same bytes come
 * out for the same artifact and options.
 */
export function buildOnnxModel(artifact: LoadedArtifact, options: ExportOptions = {}): Uint8Array {
  const opts = parseWith(ExportOptionsSchema, options, 'options');
  if (!(EXPORTABLE_KINDS as readonly string[]).includes(artifact.kind)) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'kind',
      `expected one of ${EXPORTABLE_KINDS.map((k) => `"${k}"`).join(', ')}, found "${artifact.kind}"`,
    );
  }
  const kind = artifact.kind as ExportableKind;
  const state = read(NeuralStateSchema, artifact.state, 'state');
  const d = state.nFeatures;
  if (artifact.featureNames && artifact.featureNames.length !== d) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'featureNames',
      `expected ${d} names, found ${artifact.featureNames.length}`,
    );
  }
  const g = new GraphBuilder();
  const input = g.reserve(INPUT_NAME);
  const x = scaledInput(g, input, opts.inputType, savedScaler(artifact), d);
  const outputs = [
    valueInfo(
      SCORE_OUTPUT,
      'float32',
      ['N'],
      `anomaly score (${SCORE_MEANING[kind]}), higher = more anomalous`,
    ),
  ];

  if (kind === 'energy-model') {
    const [net] = networks(state.networks, ['energy'], d);
    expectWidth(net!, 'outputs', 1);
    const energy = mlp(g, x, net!, artifact);
    g.op('Reshape', [energy, g.int64('flat', [-1], [1])], {}, SCORE_OUTPUT);
  } else if (kind === 'autoencoder') {
    const [net] = networks(state.networks, ['autoencoder'], d);
    expectWidth(net!, 'outputs', d);
    const r = mlp(g, x, net!, artifact);
    g.op('ReduceMean', [squaredError(g, r, x)], { axes: [1], keepdims: 0 }, SCORE_OUTPUT);
    g.op('Identity', [r], {}, 'reconstruction');
    outputs.push(
      valueInfo('reconstruction', 'float32', ['N', d], 'reconstruction, in the scaled feature space'),
    );
  } else {
    const params = read(VaeParamsSchema, artifact.params, 'params');
    if (params.score !== undefined && params.score !== 'latent-distance') {
      throw new ArtifactError(
        MANIFEST_FILE,
        'params.score',
        `expected "latent-distance" (the score this graph computes), found "${params.score}"`,
      );
    }
    const L = params.latent;
    const stats = read(VaeStateSchema, artifact.state, 'state');
    for (const name of ['latentCentroid', 'latentScale'] as const) {
      if (stats[name].length !== L) {
        throw new ArtifactError(
          MANIFEST_FILE,
          `state.${name}`,
          `expected ${L} values (params.latent), found ${stats[name].length}`,
        );
      }
    }
    const [enc, head, dec] = networks(state.networks, ['encoder', 'head', 'decoder'], d);
    expectWidth(head!, 'outputs', 2 * L);
    expectWidth(dec!, 'inputs', L);
    expectWidth(dec!, 'outputs', d);
    const h = mlp(g, x, enc!, artifact);
    // μ is the first half of the head's output: only those columns of its weights are needed.
    const mu = latentMean(g, h, head!, artifact, L);
    const r = mlp(g, mu, dec!, artifact);
    // As the VAE scores: mean((r − x)²) / recScale + α · mean(((μ − c) / s)²) / distScale, in float32.
    const rec = g.op('Div', [
      g.op('ReduceMean', [squaredError(g, r, x)], { axes: [1], keepdims: 0 }),
      g.float('reconstruction_scale', [stats.reconstructionScale], []),
    ]);
    const z = g.op('Div', [
      g.op('Sub', [mu, g.float('latent_centroid', stats.latentCentroid, [L])]),
      g.float('latent_scale', stats.latentScale, [L]),
    ]);
    const dist = g.op('Div', [
      g.op('ReduceMean', [g.op('Mul', [z, z])], { axes: [1], keepdims: 0 }),
      g.float('distance_scale', [stats.distanceScale], []),
    ]);
    g.op('Add', [rec, g.op('Mul', [dist, g.float('alpha', [params.alpha], [])])], {}, SCORE_OUTPUT);
    g.op('Identity', [mu], {}, 'latent_mean');
    g.op('Identity', [r], {}, 'reconstruction');
    outputs.push(
      valueInfo('latent_mean', 'float32', ['N', L], 'latent mean μ(x)'),
      valueInfo('reconstruction', 'float32', ['N', d], 'reconstruction from μ, in the scaled feature space'),
    );
  }

  const model: ModelProto = {
    ir_version: EXPORT_IR_VERSION,
    opset_import: [{ domain: '', version: EXPORT_OPSET }],
    producer_name: 'anomalia',
    producer_version: ANOMALIA_ONNX_VERSION,
    domain: 'org.anomalia',
    model_version: 1,
    doc_string: opts.docString ?? `Anomalia ${kind}: ${SCORE_MEANING[kind]} score of raw feature rows.`,
    graph: {
      name: `anomalia_${kind.replaceAll('-', '_')}`,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(INPUT_NAME, opts.inputType, ['N', d], 'raw feature rows (the graph scales them)')],
      output: outputs,
    },
    metadata_props: metadataProps(artifact, kind),
  };
  return encodeModel(model);
}

function metadataProps(artifact: LoadedArtifact, kind: ExportableKind): { key: string; value: string }[] {
  const props: [string, string | null][] = [
    [METADATA_KEYS.format, METADATA_FORMAT],
    [METADATA_KEYS.formatVersion, METADATA_FORMAT_VERSION],
    [METADATA_KEYS.version, ANOMALIA_ONNX_VERSION],
    [METADATA_KEYS.kind, kind],
    [METADATA_KEYS.score, SCORE_MEANING[kind]],
    [METADATA_KEYS.featureNames, artifact.featureNames ? JSON.stringify(artifact.featureNames) : null],
    [METADATA_KEYS.threshold, artifact.threshold ? JSON.stringify(artifact.threshold) : null],
    [METADATA_KEYS.calibrator, artifact.calibrator ? JSON.stringify(artifact.calibrator) : null],
    [METADATA_KEYS.scaler, artifact.scaler ? JSON.stringify(artifact.scaler) : null],
    [METADATA_KEYS.params, JSON.stringify(artifact.params)],
    [METADATA_KEYS.sourceWeightsSha256, artifact.manifest.files[WEIGHTS_FILE]?.sha256 ?? null],
  ];
  return props.flatMap(([key, value]) => (value === null ? [] : [{ key, value }]));
}

/** The networks by name, in order, each a chain of blocks; the first one reads the d inputs. */
function networks(nets: Net[], names: string[], d: number): Net[] {
  const found = names.map((name) => {
    const net = nets.find((n) => n.name === name);
    if (!net) {
      throw new ArtifactError(
        MANIFEST_FILE,
        'state.networks',
        `expected a network "${name}", found ${nets.map((n) => `"${n.name}"`).join(', ')}`,
      );
    }
    net.layers.forEach((l, i) => {
      const next = net.layers[i + 1];
      if (next && next.inputs !== l.outputs) {
        throw new ArtifactError(
          MANIFEST_FILE,
          `state.networks.${name}.layers[${i + 1}].inputs`,
          `expected ${l.outputs} (the outputs of layer ${i}), found ${next.inputs}`,
        );
      }
    });
    return net;
  });
  expectWidth(found[0]!, 'inputs', d);
  return found;
}

function expectWidth(net: Net, side: 'inputs' | 'outputs', width: number): void {
  const i = side === 'inputs' ? 0 : net.layers.length - 1;
  const found = net.layers[i]![side];
  if (found !== width) {
    throw new ArtifactError(
      MANIFEST_FILE,
      `state.networks.${net.name}.layers[${i}].${side}`,
      `expected ${width}, found ${found}`,
    );
  }
}

/**
 * The scaler the model applies before every score: the fitted state the artifact saved for its
 * `scaler` parameter. A state that disagrees with the parameter (none saved for "standard", a
 * "robust" state for "minmax") makes an inconsistent artifact, refused rather than guessed at.
 */
function savedScaler(artifact: LoadedArtifact): ScalerState | null {
  const param = read(ScalerParamsSchema, artifact.params, 'params').scaler;
  const state = artifact.scaler;
  const agree = param === undefined || (param === 'none' ? state === null : state?.kind === param);
  if (agree) return state;
  throw new ArtifactError(
    MANIFEST_FILE,
    'scaler',
    `expected ${param === 'none' ? 'none' : `a fitted "${param}" scaler`} (params.scaler), found ${state ? `a "${state.kind}" scaler` : 'none'}`,
  );
}

/** Graph input → scaled float32 rows, the scaler applied in double like `Scaler.transform`. */
function scaledInput(
  g: GraphBuilder,
  input: string,
  type: ElementType,
  scaler: ScalerState | null,
  d: number,
): string {
  if (!scaler) return type === 'float32' ? input : g.op('Cast', [input], { to: DataType.FLOAT });
  if (scaler.center.length !== d || scaler.scale.length !== d || scaler.fill.length !== d) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'scaler.center',
      `expected ${d} values per scaler array (state.nFeatures)`,
    );
  }
  let x = type === 'float64' ? input : g.op('Cast', [input], { to: DataType.DOUBLE });
  if (scaler.nanPolicy === 'impute') {
    x = g.op('Where', [g.op('IsNaN', [x]), g.double('scaler_fill', scaler.fill, [d]), x]);
  }
  x = g.op('Sub', [x, g.double('scaler_center', scaler.center, [d])]);
  x = g.op('Div', [x, g.double('scaler_scale', scaler.scale, [d])]);
  if (scaler.offset !== 0) x = g.op('Add', [x, g.double('scaler_offset', [scaler.offset], [])]);
  if (scaler.clip) {
    const [lo, hi] = scaler.featureRange ?? [0, 1];
    x = g.op('Clip', [x, g.double('scaler_min', [lo], []), g.double('scaler_max', [hi], [])]);
  }
  return g.op('Cast', [x], { to: DataType.FLOAT });
}

/**
 * Blocks Gemm → (LayerNormalization) → (Relu); a batch-norm block's running statistics are folded
 * into its Gemm; dropout is the identity at inference.
 */
function mlp(g: GraphBuilder, x: string, net: Net, artifact: LoadedArtifact): string {
  let h = x;
  net.layers.forEach((l, i) => {
    const p = `${net.name}.${i}`;
    let W: Float32Array = requireTensor(artifact, `${p}.W`, 'float32', l.inputs * l.outputs);
    let b: Float32Array = requireTensor(artifact, `${p}.b`, 'float32', l.outputs);
    if (l.batchNorm) ({ W, b } = foldBatchNorm(artifact, p, l, W, b));
    h = g.op('Gemm', [h, g.float(`${p}.W`, W, [l.inputs, l.outputs]), g.float(`${p}.b`, b, [l.outputs])]);
    h = block(g, h, l, p, artifact);
  });
  return h;
}

/**
 * BatchNorm1d in eval mode, γ · (z − mean) / √(var + ε) + β, folded into the Linear before it as
 * neural folds it before scoring: W' = W·a, b' = (b − mean)·a + β with a = γ / √(var + ε) per
 * column. Each step is rounded to float32 in neural's order (its fold runs as float32 tf ops), so
 * the folded weights match the ones neural scores with to the last bit or one rounding step.
 */
function foldBatchNorm(
  artifact: LoadedArtifact,
  p: string,
  l: Layer,
  W: Float32Array,
  b: Float32Array,
): { W: Float32Array; b: Float32Array } {
  const c = l.outputs;
  const gamma = requireTensor(artifact, `${p}.gamma`, 'float32', c);
  const beta = requireTensor(artifact, `${p}.beta`, 'float32', c);
  const mean = requireTensor(artifact, `${p}.runningMean`, 'float32', c);
  const variance = requireTensor(artifact, `${p}.runningVar`, 'float32', c);
  if (!variance.every((v) => v >= 0)) {
    throw new ArtifactError(WEIGHTS_FILE, `tensors.${p}.runningVar`, 'expected variances ≥ 0');
  }
  const f = Math.fround;
  const eps = f(BATCH_NORM_EPSILON);
  const a = Float32Array.from(gamma, (gj, j) => f(gj * f(1 / f(Math.sqrt(f(variance[j]! + eps))))));
  const folded = new Float32Array(W.length);
  for (let r = 0; r < l.inputs; r++) for (let j = 0; j < c; j++) folded[r * c + j] = W[r * c + j]! * a[j]!;
  const bias = Float32Array.from(b, (bj, j) => f(f(bj - mean[j]!) * a[j]!) + beta[j]!);
  return { W: folded, b: bias };
}

/** LayerNormalization (axis −1) when the block has it, then Relu when it has it. */
function block(g: GraphBuilder, h: string, l: Layer, p: string, artifact: LoadedArtifact): string {
  let out = h;
  if (l.norm) {
    out = g.op(
      'LayerNormalization',
      [
        out,
        g.float(`${p}.gamma`, requireTensor(artifact, `${p}.gamma`, 'float32', l.outputs), [l.outputs]),
        g.float(`${p}.beta`, requireTensor(artifact, `${p}.beta`, 'float32', l.outputs), [l.outputs]),
      ],
      { axis: -1, epsilon: { float: LAYER_NORM_EPSILON } },
    );
  }
  return l.activation === 'relu' ? g.op('Relu', [out]) : out;
}

/** The VAE head restricted to μ: its weight columns and bias entries 0..L−1. */
function latentMean(g: GraphBuilder, h: string, head: Net, artifact: LoadedArtifact, L: number): string {
  if (
    head.layers.length !== 1 ||
    head.layers[0]!.activation !== 'linear' ||
    head.layers[0]!.norm ||
    head.layers[0]!.batchNorm
  ) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'state.networks.head.layers',
      'expected one linear layer (μ, log σ²)',
    );
  }
  const { inputs, outputs } = head.layers[0]!;
  const W = requireTensor(artifact, 'head.0.W', 'float32', inputs * outputs);
  const b = requireTensor(artifact, 'head.0.b', 'float32', outputs);
  const Wmu = new Float32Array(inputs * L);
  for (let r = 0; r < inputs; r++) Wmu.set(W.subarray(r * outputs, r * outputs + L), r * L);
  return g.op('Gemm', [
    h,
    g.float('head.mu.W', Wmu, [inputs, L]),
    g.float('head.mu.b', b.subarray(0, L), [L]),
  ]);
}

/** (r − x)² elementwise, as tfjs's squaredDifference. */
function squaredError(g: GraphBuilder, r: string, x: string): string {
  const diff = g.op('Sub', [r, x]);
  return g.op('Mul', [diff, diff]);
}
