import { describe, expect, it } from 'vitest';
import { NGramLanguageModel, type Smoothing } from './language-model';
import { UNK_ID } from './vocabulary';

const corpus = [
  ['open', 'read', 'read', 'close'],
  ['open', 'read', 'close'],
  ['open', 'write', 'close'],
  ['stat', 'open', 'read', 'close', 'exit'],
  ['open', 'read', 'write', 'write', 'close'],
];

function model(smoothing: Smoothing, order = 3) {
  const m = new NGramLanguageModel({ order, smoothing, addK: 0.1 });
  for (const s of corpus) m.count(m.vocab.encode(s, true));
  m.finalize();
  return m;
}

/** P(w | context) for every id that can follow (real tokens, <unk>, </s>). */
function distribution(m: NGramLanguageModel, context: string[]): number[] {
  const ctx = m.vocab.encode(context, false);
  const ids = [...m.vocab.list.map((t) => m.vocab.get(t)), UNK_ID];
  const probs = ids.map((id) => {
    const s = m.surprisals(Int32Array.from([...ctx, id]));
    return 2 ** -s[ctx.length]!;
  });
  probs.push(2 ** -m.surprisals(ctx)[ctx.length]!); // end of sequence
  return probs;
}

describe('NGramLanguageModel', () => {
  for (const smoothing of ['kneser-ney', 'witten-bell', 'add-k'] as const) {
    it(`${smoothing}: every conditional distribution sums to 1 (seen, unseen and empty contexts)`, () => {
      for (const order of [1, 2, 3, 4]) {
        const m = model(smoothing, order);
        for (const context of [[], ['open'], ['open', 'read'], ['read', 'zzz'], ['zzz', 'yyy', 'close']]) {
          const p = distribution(m, context);
          expect(p.every((v) => v > 0)).toBe(true);
          expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
        }
      }
    });
  }

  it('a familiar sequence is less surprising than a shuffled one or one with an unseen token', () => {
    const m = model('kneser-ney');
    const score = (s: string[], a: 'mean' | 'max') => m.score(m.vocab.encode(s, false), a);
    expect(score(['open', 'read', 'close'], 'mean')).toBeLessThan(score(['close', 'read', 'open'], 'mean'));
    expect(score(['open', 'read', 'close'], 'max')).toBeLessThan(score(['open', 'rm', 'close'], 'max'));
    const ids = m.vocab.encode(['open', 'rm', 'close'], false);
    expect(m.score(ids, 'max')).toBe(Math.max(...m.surprisals(ids)));
  });

  it('Witten–Bell matches a hand computation for a bigram model', () => {
    // Order 2 on ["a b", "a c"]: P(b | a) = (c(a b) + T(a)·P_uni(b)) / (c(a) + T(a)), T(a) = 2 successors.
    const m = new NGramLanguageModel({ order: 2, smoothing: 'witten-bell', addK: 1 });
    m.count(m.vocab.encode(['a', 'b'], true));
    m.count(m.vocab.encode(['a', 'c'], true));
    m.finalize();
    // Unigram level (context = root): tokens a×2, b, c, </s>×2 = 6 occurrences, 4 types; V = 5 (a, b, c, <unk>, </s>).
    const pUniB = (1 + 4 * (1 / 5)) / (6 + 4);
    const pBgivenA = (1 + 2 * pUniB) / (2 + 2);
    const s = m.surprisals(m.vocab.encode(['a', 'b'], false));
    expect(2 ** -s[1]!).toBeCloseTo(pBgivenA, 12);
  });

  it('rejects bad options', () => {
    expect(() => new NGramLanguageModel({ order: 0, smoothing: 'witten-bell', addK: 1 })).toThrow(/order/);
    expect(() => new NGramLanguageModel({ order: 3, smoothing: 'add-k', addK: 0 })).toThrow(/addK/);
  });
});
