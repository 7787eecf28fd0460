import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyOverride, ConfigError, loadConfig, parseConfig } from './load';

const minimal = { name: 'x', dataset: { kind: 'sequences', numSamples: 100 }, model: { type: 'ngram' } };

describe('config', () => {
  it('fills defaults', () => {
    const c = parseConfig(minimal);
    expect(c.seed).toBe(42);
    expect(c.calibration).toBe('isotonic');
    expect(c.promotion.severity.maxMae).toBe(0.3);
    expect(c.promotion.classifier).toEqual({ maxEce: 0.08, minAccuracy: 0.85 });
    expect(c.output.runsDir).toBe('runs');
  });

  it('names the key and the allowed values', () => {
    expect(() => parseConfig({ ...minimal, model: { type: 'svm' } })).toThrow(
      /model\.type: .*"ebm".*"ngram"/,
    );
    expect(() => parseConfig({ ...minimal, dataset: { kind: 'parquet' } })).toThrow(/dataset\.kind/);
    expect(() => parseConfig({ ...minimal, modle: {} })).toThrow(/modle: expected no such key/);
    expect(() => parseConfig({ ...minimal, name: 'a b' })).toThrow(/name: expected letters, digits/);
    expect(() =>
      parseConfig({
        ...minimal,
        dataset: { kind: 'mosaiq', source: 'x.sqlite', holdoutVariants: ['corrupt_mlc_data'] },
      }),
    ).toThrow(/dataset\.holdoutVariants\[0\]: expected a "mode\/variant" pair/);
    expect(() =>
      parseConfig({
        ...minimal,
        dataset: {
          kind: 'tabular',
          path: 'a.csv',
          split: { train: 0.5, validation: 0.5, calibration: 0.5, test: 0.5 },
        },
      }),
    ).toThrow(/sum to 1/);
  });

  it('applies --set overrides as YAML values', () => {
    let raw = applyOverride(minimal, 'model.params.order=5');
    raw = applyOverride(raw, 'dataset.numSamples=200');
    raw = applyOverride(raw, 'threshold={ strategy: fixed, value: 0.4 }');
    const c = parseConfig(raw);
    expect(c.model.params?.order).toBe(5);
    expect(c.threshold).toEqual({ strategy: 'fixed', value: 0.4 });
    expect(() => applyOverride(minimal, 'noequals')).toThrow(/key=value/);
    expect(() => applyOverride(minimal, 'a..b=1')).toThrow(ConfigError);
  });

  it('reads YAML and JSON files and reports unreadable ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anomalia-config-'));
    await writeFile(
      join(dir, 'c.yaml'),
      'name: y\ndataset: { kind: sequences, numSamples: 10 }\nmodel: { type: ngram }\n',
    );
    await writeFile(join(dir, 'c.json'), JSON.stringify(minimal));
    await writeFile(join(dir, 'bad.yaml'), 'name: [unclosed');
    expect((await loadConfig(join(dir, 'c.yaml'), ['seed=7'])).seed).toBe(7);
    expect((await loadConfig(join(dir, 'c.json'))).name).toBe('x');
    await expect(loadConfig(join(dir, 'bad.yaml'))).rejects.toThrow(/not valid YAML/);
    await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/--config: cannot read/);
    await expect(loadConfig(join(dir, 'c.txt'))).rejects.toThrow(/\.yaml, \.yml or \.json/);
  });
});

describe('hostile config input', () => {
  const pristine = () => Object.getOwnPropertyNames(Object.prototype).sort();

  it('refuses prototype keys in --set before building anything, and never pollutes Object.prototype', () => {
    const before = pristine();
    const originalToString = Object.prototype.toString;
    for (const [override, key] of [
      ['__proto__.polluted=1', '--set __proto__.polluted'],
      ['__proto__.toString=1', '--set __proto__.toString'],
      ['constructor.prototype.x=1', '--set constructor.prototype.x'],
      ['model.__proto__.type=ebm', '--set model.__proto__.type'],
      ['model.params.prototype=1', '--set model.params.prototype'],
    ] as const) {
      const error = (() => {
        try {
          applyOverride(minimal, override);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(error, override).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).key).toBe(key);
      expect((error as Error).message).toMatch(
        /is not a config key \(__proto__, prototype and constructor are refused\)$/,
      );
      expect((error as Error).stack).not.toMatch(/zod/);
    }
    // A value holding such a key (YAML keeps it as an own key).
    expect(() => applyOverride(minimal, 'model.params={__proto__: {epochs: 1}}')).toThrow(
      /--set model\.params: model\.params\.__proto__: expected an ordinary key/,
    );
    expect(pristine()).toEqual(before);
    expect(Object.prototype.toString).toBe(originalToString);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses prototype keys in YAML and JSON files, naming the file and the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anomalia-config-proto-'));
    await writeFile(
      join(dir, 'p.yaml'),
      'name: y\ndataset: { kind: sequences, numSamples: 10 }\nmodel: { type: ngram, params: { __proto__: { order: 9 } } }\n',
    );
    await writeFile(
      join(dir, 'p.json'),
      '{"name": "x", "dataset": {"kind": "sequences", "numSamples": 100}, "model": {"type": "ngram"}, "__proto__": {"seed": 1}}',
    );
    await expect(loadConfig(join(dir, 'p.yaml'))).rejects.toThrow(
      `${join(dir, 'p.yaml')}: model.params.__proto__: expected an ordinary key`,
    );
    await expect(loadConfig(join(dir, 'p.json'))).rejects.toThrow(
      /p\.json: __proto__: expected an ordinary key/,
    );
  });

  it('names model parameters with the file and the model. prefix, and refuses unknown ones', () => {
    const ocsvm = { ...minimal, dataset: { kind: 'tabular', path: 'a.csv' }, model: { type: 'ocsvm' } };
    expect(() => parseConfig({ ...ocsvm, model: { type: 'ocsvm', params: { nu: 2 } } }, 'c.yaml')).toThrow(
      /^c\.yaml: model\.params\.nu: expected a number ≤ 1, received 2$/,
    );
    expect(() => parseConfig({ ...ocsvm, model: { type: 'ocsvm', params: { bogus: 1 } } }, 'c.yaml')).toThrow(
      /^c\.yaml: model\.params\.bogus: expected no such key/,
    );
    expect(() =>
      parseConfig({ ...minimal, model: { type: 'ngram', params: { mode: 'x' } } }, 'c.yaml'),
    ).toThrow(/^c\.yaml: model\.params\.mode: expected one of/);
  });
});
