import { describe, expect, it } from 'vitest';
import { parseConfig } from './load';

const mosaiq = { kind: 'mosaiq', source: 'clinic.sqlite' };
const base = { name: 'x', dataset: mosaiq };

describe('ONNX config', () => {
  it('leaves export off by default and reads `export: { onnx }`', () => {
    expect(parseConfig({ ...base, model: { type: 'ebm' } }).export.onnx).toBeNull();
    expect(parseConfig({ ...base, model: { type: 'ebm' }, export: { onnx: true } }).export.onnx).toEqual({
      inputType: 'float64',
      tolerance: 1e-5,
    });
    expect(
      parseConfig({ ...base, model: { type: 'vae' }, export: { onnx: { inputType: 'float32' } } }).export
        .onnx,
    ).toEqual({ inputType: 'float32', tolerance: 1e-5 });
    expect(() => parseConfig({ ...base, model: { type: 'ebm' }, export: { onnx: 'yes' } })).toThrow(
      /export\.onnx: expected true, false or \{ inputType, tolerance \}/,
    );
    expect(() =>
      parseConfig({ ...base, model: { type: 'ebm' }, export: { onnx: { inputType: 'float16' } } }),
    ).toThrow(/export\.onnx/);
  });

  it('refuses an export of a model that is not a network, naming the type', () => {
    for (const type of ['isolation_forest', 'lof', 'ocsvm']) {
      expect(() => parseConfig({ ...base, model: { type }, export: { onnx: true } })).toThrow(
        new RegExp(
          `export\\.onnx: expected false for model\\.type "${type}" \\(ONNX export covers "ebm", "autoencoder", "vae"`,
        ),
      );
    }
    expect(() =>
      parseConfig({
        name: 'x',
        dataset: { kind: 'sequences', numSamples: 10 },
        model: { type: 'ngram' },
        export: { onnx: true },
      }),
    ).toThrow(/export\.onnx: expected false for model\.type "ngram"/);
    expect(() =>
      parseConfig({ ...base, model: { type: 'vae', params: { score: 'kl' } }, export: { onnx: true } }),
    ).toThrow(/model\.params\.score: expected "latent-distance" with export\.onnx/);
    // Without the export, the KL score is fine.
    expect(parseConfig({ ...base, model: { type: 'vae', params: { score: 'kl' } } }).model.type).toBe('vae');
  });

  it('reads an ONNX model entry and refuses its fit-only keys, naming them', () => {
    const c = parseConfig({
      ...base,
      model: { type: 'onnx', path: 'm.onnx', featureNames: ['a', 'b'], session: { intraOpNumThreads: 1 } },
      threshold: { strategy: 'model' },
      calibration: 'model',
    });
    expect(c.model).toEqual({
      type: 'onnx',
      path: 'm.onnx',
      featureNames: ['a', 'b'],
      session: { intraOpNumThreads: 1 },
    });
    expect(
      parseConfig({ ...base, model: { type: 'onnx', path: 'm.onnx', featureNames: 'features.txt' } }).model,
    ).toMatchObject({ featureNames: 'features.txt' });
    expect(() =>
      parseConfig({ ...base, model: { type: 'onnx', path: 'm.onnx', params: { epochs: 5 } } }),
    ).toThrow(
      /model\.params: expected no such key: an ONNX model is trained elsewhere and only evaluated here/,
    );
    expect(() => parseConfig({ ...base, model: { type: 'onnx', path: 'm.onnx', epochs: 5 } })).toThrow(
      /model\.epochs: expected no such key/,
    );
    expect(() => parseConfig({ ...base, model: { type: 'onnx' } })).toThrow(/model\.path/);
    expect(() => parseConfig({ ...base, model: { type: 'onnx', path: 'm.onnx', sha256: 'ABC' } })).toThrow(
      /model\.sha256: expected a lowercase hex sha256/,
    );
    expect(() =>
      parseConfig({ ...base, model: { type: 'onnx', path: 'm.onnx' }, export: { onnx: true } }),
    ).toThrow(/export\.onnx: expected false for model\.type "onnx" \(the model is already ONNX/);
    expect(() => parseConfig({ ...base, model: { type: 'onnx', path: 'm.onnx', featureNames: [] } })).toThrow(
      /model\.featureNames/,
    );
  });

  it("keeps a model's own threshold or calibrator only for an ONNX model", () => {
    expect(() => parseConfig({ ...base, model: { type: 'ebm' }, calibration: 'model' })).toThrow(
      /calibration: expected "platt" or "isotonic" for model\.type "ebm"/,
    );
    expect(() =>
      parseConfig({ ...base, model: { type: 'autoencoder' }, threshold: { strategy: 'model' } }),
    ).toThrow(
      /threshold\.strategy: expected a strategy that chooses a threshold for model\.type "autoencoder"/,
    );
  });

  it('names every model type when the type is unknown', () => {
    expect(() => parseConfig({ ...base, model: { type: 'torch' } })).toThrow(
      /model\.type: .*"ebm".*"ngram".*"onnx"/,
    );
  });
});
