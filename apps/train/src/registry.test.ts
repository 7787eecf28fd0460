import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NGramClassifier, SequenceAnomalyDetector } from '@anomalia/sequence';
import { describe, expect, it } from 'vitest';
import { TRAINABLE_MODEL_TYPES } from './config/schema';
import { REGISTRY } from './registry';

describe('model registry', () => {
  it('has an entry for every trainable model type, creating a detector with default parameters', async () => {
    for (const type of TRAINABLE_MODEL_TYPES) {
      const entry = REGISTRY[type];
      expect(entry, type).toBeDefined();
      const d = await entry.create({}, 3);
      expect(d.isFitted).toBe(false);
      if ('seed' in d.params) expect(d.params.seed).toBe(3);
    }
  });

  it('validates model parameters with the model schema, naming the parameter', () => {
    expect(() => REGISTRY.isolation_forest.create({ nEstimators: -1 }, 0)).toThrow(/params\.nEstimators/);
    expect(() => REGISTRY.isolation_forest.create({ scaler: 'zscore' }, 0)).toThrow(/params\.scaler/);
    expect(() => REGISTRY.ngram.create({ mode: 'lstm' }, 0)).toThrow(/params\.mode/);
    expect(() => REGISTRY.ngram.create({ mode: 'stide', window: 0 }, 0)).toThrow(/params\.window/);
  });

  it('ngram creates the model its mode names and loads either from its artifact', async () => {
    const ngram = REGISTRY.ngram;
    if (ngram.input !== 'sequences') throw new Error('expected a sequence model');
    const clf = ngram.create({ mode: 'classifier', epochs: 2 }, 5);
    expect(clf).toBeInstanceOf(NGramClassifier);
    expect(clf.params.seed).toBe(5);
    expect(ngram.supervised(clf)).toBe(true);
    expect(ngram.scoreName(clf)).toBe('P(anomalous)');
    const stide = ngram.create({ mode: 'stide', window: 3 }, 5);
    expect(stide).toBeInstanceOf(SequenceAnomalyDetector);
    expect(ngram.supervised(stide)).toBe(false);
    expect(ngram.scoreName(stide)).toBe('mismatch rate');
    expect(ngram.scoreName(ngram.create({}, 5))).toBe('mean surprisal (bits/token)');

    const sequences = [
      ['read', 'write'],
      ['read', 'read', 'write'],
      ['scan', 'exfiltrate'],
      ['scan', 'exploit', 'exfiltrate'],
    ];
    const y = Float64Array.of(0, 0, 1, 1);
    const dir = await mkdtemp(join(tmpdir(), 'registry-ngram-'));
    try {
      for (const [name, d] of [
        ['clf', clf],
        ['stide', stide],
      ] as const) {
        await d.fit(sequences, { y: ngram.supervised(d) ? y : undefined });
        await d.save(join(dir, name));
        const loaded = await ngram.load(join(dir, name));
        expect(loaded.kind).toBe(d.kind);
        expect(Array.from(await loaded.score(sequences))).toEqual(Array.from(await d.score(sequences)));
      }
      await expect(REGISTRY.ebm.load(join(dir, 'clf'))).rejects.toThrow(/kind/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
