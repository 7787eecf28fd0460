import {
  ArtifactError,
  type LoadedArtifact,
  MANIFEST_FILE,
  requireTensor,
  WEIGHTS_FILE,
} from '@anomalia/core';
import type { LayerSpec } from './network';
import type { ParamLayout } from './trainer';

const LAYER_KEYS = [
  'inputs',
  'outputs',
  'norm',
  'batchNorm',
  'activation',
  'dropout',
] as const satisfies readonly (keyof LayerSpec)[];

const show = (v: unknown) => (Array.isArray(v) ? `[${v.join(', ')}]` : JSON.stringify(v));

/**
 * Checks that the networks saved in an artifact are those its params describe, and returns the
 * flat weight vector and the batch-norm running statistics (layout order). A manifest whose params were edited after saving (`layerNorm: false`, other
 * layer sizes: digest recomputed, no signing key) would otherwise load a silently different model,
 * with tensors ignored or misread. Checked: the saved architecture (`state.networks`) layer by
 * layer, `state.parameterCount`, every parameter tensor's dtype and exact shape, and no tensor left
 * over. A mismatch is an ArtifactError naming the file and the field.
 */
export function weightsForLayout(
  artifact: LoadedArtifact,
  layout: ParamLayout,
): { flat: Float32Array; stats: Float32Array } {
  const saved = artifact.state.networks;
  const implied = (what: string) => `${what} (what params and state.nFeatures imply)`;
  if (!Array.isArray(saved) || saved.length !== layout.networks.length) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'state.networks',
      `expected ${implied(`${layout.networks.length} network(s)`)}, found ${Array.isArray(saved) ? saved.length : show(saved)}`,
    );
  }
  layout.networks.forEach((net, i) => {
    const s = saved[i] as { name?: unknown; layers?: unknown } | null;
    const where = `state.networks[${i}]`;
    if (s?.name !== net.name) {
      throw new ArtifactError(
        MANIFEST_FILE,
        `${where}.name`,
        `expected ${implied(show(net.name))}, found ${show(s?.name)}`,
      );
    }
    const layers = s.layers;
    if (!Array.isArray(layers) || layers.length !== net.layers.length) {
      throw new ArtifactError(
        MANIFEST_FILE,
        `${where}.layers`,
        `expected ${implied(`${net.layers.length} layers`)}, found ${Array.isArray(layers) ? layers.length : show(layers)}: params and weights do not match`,
      );
    }
    net.layers.forEach((layer, j) => {
      for (const key of LAYER_KEYS) {
        const found = (layers[j] as Record<string, unknown> | null)?.[key];
        if (found !== layer[key]) {
          throw new ArtifactError(
            MANIFEST_FILE,
            `${where}.layers[${j}].${key}`,
            `the network saved with the weights has ${key} ${show(found)}, but params imply ${show(layer[key])}: params and weights do not match (was a parameter edited after saving?)`,
          );
        }
      }
    });
  });
  if (artifact.state.parameterCount !== layout.size) {
    throw new ArtifactError(
      MANIFEST_FILE,
      'state.parameterCount',
      `expected ${implied(String(layout.size))}, found ${show(artifact.state.parameterCount)}`,
    );
  }
  const flat = new Float32Array(layout.size);
  const stats = new Float32Array(layout.statSize);
  let o = 0;
  const expected = new Set<string>();
  for (const net of layout.networks) {
    for (const p of net.params) {
      expected.add(p.name);
      const data = requireTensor(artifact, p.name, 'float32', p.size);
      const shape = artifact.tensors[p.name]!.shape;
      if (shape.length !== p.shape.length || shape.some((d, k) => d !== p.shape[k])) {
        throw new ArtifactError(
          WEIGHTS_FILE,
          `tensors.${p.name}.shape`,
          `expected ${implied(show(p.shape))}, found ${show(shape)}`,
        );
      }
      flat.set(data, p.offset);
    }
    for (const i of net.batchNormLayers) {
      const c = net.layers[i]!.outputs;
      const meanName = `${net.name}.${i}.runningMean`;
      const varName = `${net.name}.${i}.runningVar`;
      expected.add(meanName);
      expected.add(varName);
      const mean = requireTensor(artifact, meanName, 'float32', c);
      const variance = requireTensor(artifact, varName, 'float32', c);
      if (!variance.every((v) => v >= 0)) {
        throw new ArtifactError(WEIGHTS_FILE, `tensors.${varName}`, 'expected variances ≥ 0');
      }
      stats.set(mean, o);
      stats.set(variance, o + c);
      o += 2 * c;
    }
  }
  for (const name of Object.keys(artifact.tensors)) {
    if (!expected.has(name)) {
      throw new ArtifactError(
        WEIGHTS_FILE,
        `tensors.${name}`,
        'not a parameter of the networks the params describe: params and weights do not match (was a parameter edited after saving?)',
      );
    }
  }
  return { flat, stats };
}
