import { describe, expect, it } from 'vitest';
import { NGramLanguageModel, type Smoothing } from './language-model';
import { NGramTrie } from './ngram-trie';
import { UNK_ID, Vocabulary } from './vocabulary';

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

  it('counts every order from the top-order n-grams alone (suffix links) exactly like direct counting', () => {
    for (const order of [1, 2, 3, 5]) {
      const m = model('witten-bell', order);
      // Direct counting of every n-gram of orders 1..N over the padded sequences.
      const expected = new Map<string, number>();
      for (const s of corpus) {
        const padded = [...Array(order - 1).fill('<s>'), ...s, '</s>'];
        for (let i = order - 1; i < padded.length; i++)
          for (let k = 1; k <= order; k++) {
            const key = padded.slice(i - k + 1, i + 1).join(' ');
            expected.set(key, (expected.get(key) ?? 0) + 1);
          }
      }
      const { parent, token, count } = m.trie.toArrays();
      const name = (g: number): string =>
        parent[g] === 0 ? m.vocab.token(token[g]!) : `${name(parent[g]!)} ${m.vocab.token(token[g]!)}`;
      const got = new Map<string, number>();
      for (let g = 1; g < count.length; g++) if (count[g]! > 0) got.set(name(g), count[g]!);
      expect(got).toEqual(expected);
    }
  });

  it('folded scoring equals the order-by-order Witten–Bell recursion, seen and unseen n-grams alike', () => {
    const order = 3;
    const m = model('witten-bell', order);
    const { parent, token, count } = m.trie.toArrays();
    const V = m.vocab.size - 1;
    // Reference: P(w | h) = (c(h w) + T(h) P(w | h′)) / (c(h) + T(h)), recursing on node ids.
    const child = (h: number, w: number) => m.trie.child(h, w);
    const stats = (h: number) => {
      let total = 0;
      let types = 0;
      for (let g = 1; g < count.length; g++)
        if (parent[g] === h && count[g]! > 0) {
          total += count[g]!;
          types++;
        }
      return { total, types };
    };
    const prob = (ctx: number[], w: number): number => {
      const lower = ctx.length === 0 ? 1 / V : prob(ctx.slice(1), w);
      let h = 0;
      for (const t of ctx) h = h < 0 ? -1 : child(h, t);
      if (h < 0) return lower;
      const { total, types } = stats(h);
      if (total === 0) return lower;
      const g = child(h, w);
      return ((g < 0 ? 0 : count[g]!) + types * lower) / (total + types);
    };
    for (const s of [
      ['open', 'read', 'close'],
      ['open', 'zzz', 'read', 'write', 'exit'],
      ['close', 'open'],
    ]) {
      const ids = m.vocab.encode(s, false);
      const padded = [...Array(order - 1).fill(0), ...ids, 1];
      const got = m.surprisals(ids);
      for (let i = 0; i < ids.length + 1; i++) {
        const ctx = padded.slice(i, i + order - 1);
        expect(got[i]!).toBeCloseTo(-Math.log2(prob(ctx, padded[i + order - 1]!)), 12);
      }
    }
    expect(token.length).toBe(count.length);
  });

  it('counting in several rounds with a finalize in between equals counting at once', () => {
    const once = model('kneser-ney', 4);
    const twice = new NGramLanguageModel({ order: 4, smoothing: 'kneser-ney', addK: 0.1 });
    for (const s of corpus.slice(0, 2)) twice.count(twice.vocab.encode(s, true));
    twice.finalize();
    for (const s of corpus.slice(2)) twice.count(twice.vocab.encode(s, true));
    twice.finalize();
    expect(Array.from(twice.trie.toArrays().count)).toEqual(Array.from(once.trie.toArrays().count));
    const probe = once.vocab.encode(['open', 'read', 'write', 'close', 'exit'], false);
    expect(Array.from(twice.surprisals(probe))).toEqual(Array.from(once.surprisals(probe)));
  });

  it('a trie that is not suffix-closed (not produced by counting) is refused, naming the table', () => {
    const trie = new NGramTrie();
    const vocab = Vocabulary.fromTokens(['a', 'b']);
    const a = trie.addNode(0, 3, 1); // "a"
    trie.addNode(a, 4, 1); // "a b" without "b"
    const m = new NGramLanguageModel({ order: 2, smoothing: 'witten-bell', addK: 1 }, vocab, trie);
    expect(() => m.finalize()).toThrow(/ngrams: expected a suffix-closed n-gram table/);
  });

  it('rejects bad options', () => {
    expect(() => new NGramLanguageModel({ order: 0, smoothing: 'witten-bell', addK: 1 })).toThrow(/order/);
    expect(() => new NGramLanguageModel({ order: 3, smoothing: 'add-k', addK: 0 })).toThrow(/addK/);
  });
});
