import { describe, expect, it } from 'vitest';
import { NGramClassifier, originalWeights } from './ngram-classifier';
import { ClassTables, composition, extractSignals, UNSEEN } from './signals';
import { Vocabulary } from './vocabulary';

function tables(normal: string[][], anomalous: string[][], n = 3): ClassTables {
  const vocab = new Vocabulary();
  const t = new ClassTables(n, vocab);
  for (const s of normal) t.add(vocab.encode(s, true), 0);
  for (const s of anomalous) t.add(vocab.encode(s, true), 1);
  return t;
}

const N = ['read', 'process', 'write'];
const A = ['delete', 'exfiltrate', 'cover_tracks'];

describe('the four v1 signals', () => {
  const t = tables([N, N, N, ['read', 'exfiltrate', 'write']], [A]);
  const f = (s: string[]) => Array.from(extractSignals(t, s));

  it('n-gram rarity: mean of A/(A+N) over n-grams, 0.7 when unseen, 0.5 when too short', () => {
    expect(f(N)[0]).toBe(0);
    expect(f(A)[0]).toBe(1);
    expect(f(['read', 'process', 'write', 'delete'])[0]).toBeCloseTo((0 + UNSEEN) / 2, 12);
    expect(f(['read', 'write'])[0]).toBe(0.5);
  });

  it('action frequency: mean of pA/(pA+pN) with per-class relative frequencies', () => {
    // Normal: 12 actions, read ×4, exfiltrate ×1. Anomalous: 3 actions, exfiltrate ×1.
    const pNe = 1 / 12;
    const pAe = 1 / 3;
    expect(f(['exfiltrate'])[1]).toBeCloseTo(pAe / (pAe + pNe), 12);
    expect(f(['read'])[1]).toBe(0);
    expect(f(['never_seen'])[1]).toBe(UNSEEN);
  });

  it('entropy: 1 − H/log2(u), 0 for a single distinct action; diversity: 1 − u/|S|', () => {
    expect(f(['read', 'read', 'read', 'read']).slice(2)).toEqual([0, 0.75]);
    expect(f(N).slice(2)).toEqual([0, 0]);
    // a a a b: H = −(¾ log2 ¾ + ¼ log2 ¼) ≈ 0.8113, u = 2.
    const h = -(0.75 * Math.log2(0.75) + 0.25 * Math.log2(0.25));
    const s = f(['a', 'a', 'a', 'b']);
    expect(s[2]).toBeCloseTo(1 - h, 12);
    expect(s[3]).toBe(0.5);
    // Two different unseen tokens are two distinct actions, not one <unk>.
    expect(composition(['x', 'y']).distinct).toBe(2);
    expect(f(['x', 'y'])[3]).toBe(0);
  });

  it('an untrained table gives the neutral 0.5 for the table signals', () => {
    const empty = tables([], []);
    expect(Array.from(extractSignals(empty, N)).slice(0, 2)).toEqual([0.5, 0.5]);
  });
});

describe("v1's weight rule", () => {
  it('reproduces the worked example of the original (50 × normal, 50 × anomalous)', async () => {
    const samples = [
      ...Array(50).fill({ sequence: N, label: 0 }),
      ...Array(50).fill({ sequence: A, label: 1 }),
    ];
    const c = new NGramClassifier({ weighting: 'original' });
    await c.fit(
      samples.map((s) => s.sequence),
      { y: Float64Array.from(samples, (s) => s.label) },
    );
    const w = c.weights;
    expect(w.ngramRarity).toBeCloseTo(0.4951, 4);
    expect(w.actionFrequency).toBeCloseTo(0.4951, 4);
    expect(w.entropy).toBeCloseTo(0.0049, 4);
    expect(w.patternDiversity).toBeCloseTo(0.0049, 4);
    expect(
      originalWeights(
        [
          [1, 0, 0, 0],
          [0, 0, 0, 0],
        ],
        [1, 0],
      )[0],
    ).toBeCloseTo(1.01 / 1.04, 12);
  });
});
