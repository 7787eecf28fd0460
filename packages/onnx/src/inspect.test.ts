import { ArtifactError, Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { inspectOnnxModel, sha256Hex } from './inspect';
import { DATA_LOCATION_EXTERNAL } from './proto';
import { tinyModel } from './test-support/models';

/** The ArtifactError `fn` throws (fails the test when it throws nothing or something else). */
function artifactError(fn: () => unknown): ArtifactError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ArtifactError);
    return e as ArtifactError;
  }
  throw new Error('expected an ArtifactError, nothing was thrown');
}

const inspect =
  (bytes: Uint8Array, options = {}) =>
  () =>
    inspectOnnxModel(bytes, { file: 'm.onnx', ...options });

describe('inspectOnnxModel', () => {
  it('describes a valid scoring model', () => {
    const bytes = tinyModel({ features: 4, metadata: { owner: 'qa' } });
    const info = inspectOnnxModel(bytes, { file: 'm.onnx' });
    expect(info).toMatchObject({
      file: 'm.onnx',
      bytes: bytes.byteLength,
      irVersion: 8,
      opset: 17,
      input: { name: 'x', type: 'float32', dims: ['N', 4] },
      features: 4,
      fixedBatch: null,
      scoreOutput: { name: 'score', type: 'float32', dims: ['N'] },
      outputNames: ['score'],
      metadata: { owner: 'qa' },
    });
    expect(info.sha256).toBe(sha256Hex(bytes));
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses an empty file and a file above the size limit', () => {
    expect(artifactError(inspect(new Uint8Array(0))).message).toBe(
      'm.onnx: (file): empty: not an ONNX model',
    );
    const bytes = tinyModel();
    const e = artifactError(inspect(bytes, { maxBytes: 100 }));
    expect(e.field).toBe('(file)');
    expect(e.message).toContain(`${bytes.byteLength} bytes is above the size limit of 100 bytes`);
  });

  it('refuses a truncated model', () => {
    const bytes = tinyModel();
    for (const keep of [0.25, 0.5, 0.9]) {
      const e = artifactError(inspect(bytes.subarray(0, Math.floor(bytes.byteLength * keep))));
      expect(e.file).toBe('m.onnx');
      expect(e.field).toBe('(protobuf)');
      expect(e.message).toMatch(/not an ONNX ModelProto \(truncated or not ONNX\)/);
    }
  });

  it('refuses random bytes and text', () => {
    const rng = new Rng(4);
    for (let trial = 0; trial < 20; trial++) {
      const bytes = Uint8Array.from({ length: 64 + trial * 50 }, () => rng.integer(0, 256));
      const e = artifactError(inspect(bytes));
      expect(e.file).toBe('m.onnx');
      expect(['(protobuf)', 'ir_version', 'graph', 'opset_import']).toContain(e.field);
    }
    const json = new TextEncoder().encode('{"format": "anomalia-artifact", "kind": "onnx"}');
    expect(artifactError(inspect(json)).field).toMatch(/\(protobuf\)|ir_version/);
  });

  it('refuses an IR version or opset outside the supported range', () => {
    expect(artifactError(inspect(tinyModel({ irVersion: 99 }))).message).toBe(
      'm.onnx: ir_version: expected 3–10, found 99',
    );
    expect(artifactError(inspect(tinyModel({ opset: 99 }))).message).toBe(
      'm.onnx: opset_import[0].version: expected opset 9–21, found 99',
    );
    expect(artifactError(inspect(tinyModel({ opset: 5 }))).field).toBe('opset_import[0].version');
  });

  it('refuses custom operator domains and a model without the default domain', () => {
    const custom = tinyModel({
      edit: (m) => m.opset_import!.push({ domain: 'com.example.ops', version: 1 }),
    });
    expect(artifactError(inspect(custom)).message).toContain('opset_import[1].domain: expected one of');
    expect(artifactError(inspect(tinyModel({ domain: 'ai.onnx.ml', opset: 3 }))).field).toBe('opset_import');
  });

  it('refuses a model that is not a ModelProto with a graph', () => {
    expect(artifactError(inspect(tinyModel({ edit: (m) => delete m.graph }))).field).toBe('graph');
    expect(artifactError(inspect(tinyModel({ edit: (m) => delete m.ir_version }))).field).toBe('ir_version');
  });

  it('refuses a two-input model, naming the inputs', () => {
    const bytes = tinyModel({ inputs: [{ name: 'a' }, { name: 'b' }] });
    expect(artifactError(inspect(bytes)).message).toBe(
      'm.onnx: graph.input: expected exactly one input [N, d], found 2 ("a", "b")',
    );
  });

  it('refuses inputs of the wrong element type, rank or batch dimension', () => {
    const int64 = tinyModel({ edit: (m) => (m.graph!.input![0]!.type!.tensor_type!.elem_type = 7) });
    expect(artifactError(inspect(int64)).message).toBe(
      'm.onnx: graph.input[0].type.tensor_type.elem_type: "x": expected float (1) or double (11), found 7',
    );
    const rank3 = tinyModel({ inputs: [{ name: 'x', dims: ['N', 3, 1] }] });
    expect(artifactError(inspect(rank3)).field).toBe('graph.input[0].type.tensor_type.shape');
    const fixed = tinyModel({ inputs: [{ name: 'x', dims: [8, 3] }] });
    expect(artifactError(inspect(fixed)).message).toContain(
      'graph.input[0].type.tensor_type.shape.dim[0]: expected a dynamic batch dimension (or 1), found fixed 8',
    );
    const one = inspectOnnxModel(tinyModel({ inputs: [{ name: 'x', dims: [1, 3] }] }));
    expect(one.fixedBatch).toBe(1);
    const noShape = tinyModel({ edit: (m) => delete m.graph!.input![0]!.type!.tensor_type!.shape });
    expect(artifactError(inspect(noShape)).field).toBe('graph.input[0].type.tensor_type.shape');
  });

  it('accepts a double input and a symbolic width', () => {
    const info = inspectOnnxModel(
      tinyModel({ inputs: [{ name: 'x', type: 'float64', dims: ['batch', 'd'] }] }),
    );
    expect(info.input).toEqual({ name: 'x', type: 'float64', dims: ['batch', 'd'] });
    expect(info.features).toBeNull();
  });

  it('needs one score per row from a named or single output', () => {
    const wide = tinyModel({ outputDims: ['N', 3] });
    expect(artifactError(inspect(wide)).message).toBe(
      'm.onnx: graph.output[0].type.tensor_type.shape: expected one score per row, [N] or [N, 1], found [N,3]',
    );
    expect(inspectOnnxModel(tinyModel({ outputDims: ['N', 1] })).scoreOutput.dims).toEqual(['N', 1]);
    const twoOutputs = tinyModel({
      edit: (m) => {
        m.graph!.output![0]!.name = 'energy';
        m.graph!.node!.at(-1)!.output = ['energy'];
        m.graph!.node!.push({ op_type: 'Identity', input: ['energy'], output: ['copy'] });
        m.graph!.output!.push({ ...m.graph!.output![0]!, name: 'copy' });
      },
    });
    expect(artifactError(inspect(twoOutputs)).message).toContain(
      'graph.output: 2 outputs and none named "score": name the score output (scoreOutput) among "energy", "copy"',
    );
    expect(inspectOnnxModel(twoOutputs, { scoreOutput: 'copy' }).scoreOutput.name).toBe('copy');
    expect(artifactError(inspect(twoOutputs, { scoreOutput: 'nope' })).message).toContain(
      'no output named "nope" (scoreOutput)',
    );
  });

  it('refuses weights kept in an external file', () => {
    const bytes = tinyModel({
      edit: (m) => {
        const w = m.graph!.initializer![0]!;
        delete w.raw_data;
        w.data_location = DATA_LOCATION_EXTERNAL;
        w.external_data = [{ key: 'location', value: '../../etc/passwd' }];
      },
    });
    expect(artifactError(inspect(bytes)).message).toContain(
      'graph.initializer[0].data_location: tensor "w" keeps its data in an external file',
    );
  });

  it('refuses a metadata key given twice', () => {
    const bytes = tinyModel({
      edit: (m) => {
        m.metadata_props = [
          { key: 'a', value: '1' },
          { key: 'a', value: '2' },
        ];
      },
    });
    expect(artifactError(inspect(bytes)).message).toBe('m.onnx: metadata_props[1].key: "a" appears twice');
  });
});
