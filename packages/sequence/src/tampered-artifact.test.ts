import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editManifest, refusedLoad } from '@anomalia/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGramClassifier } from './ngram-classifier';
import { SequenceAnomalyDetector } from './sequence-detector';

let dir: string;
const sequences = Array.from({ length: 60 }, (_, i) =>
  Array.from({ length: 10 }, (_, k) => (i % 6 === 0 ? `z${(k * 7) % 5}` : `a${(i + k) % 4}`)),
);
const labels = Float64Array.from(sequences, (_, i) => (i % 6 === 0 ? 1 : 0));
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalia-sequence-tamper-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a sequence artifact whose n-gram length was edited after saving (digest recomputed, no key)', () => {
  it('the language model: another order or mode than its tables were counted with', async () => {
    const m = new SequenceAnomalyDetector({ order: 3 });
    await m.fit(sequences);
    for (const [edit, field] of [
      [(p: Record<string, unknown>) => (p.order = 5), 'state.ngramOrder'],
      [(p: Record<string, unknown>) => (p.mode = 'stide'), 'state.mode'],
    ] as const) {
      const path = join(dir, `lm-${field}`);
      await m.save(path, { key: null });
      await editManifest(path, (mm) => edit(mm.params), { redigest: true });
      const e = await refusedLoad(SequenceAnomalyDetector.load(path));
      expect([e.file, e.field]).toEqual(['manifest.json', field]);
      expect(e.message).toMatch(/params and weights do not match/);
    }
  });

  it('the classifier: another n', async () => {
    const m = new NGramClassifier({ n: 3, epochs: 2 });
    await m.fit(sequences, { y: labels });
    const path = join(dir, 'classifier');
    await m.save(path, { key: null });
    await editManifest(path, (mm) => (mm.params.n = 5), { redigest: true });
    const e = await refusedLoad(NGramClassifier.load(path));
    expect(e.message).toBe(
      'manifest.json: state.ngramOrder: the n-gram tables were counted up to length 3, but params.n is 5: params and weights do not match',
    );
  });
});
