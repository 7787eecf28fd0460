import { describe, expect, it } from 'vitest';
import { NGramTrie } from './ngram-trie';
import { Vocabulary } from './vocabulary';

describe('NGramTrie', () => {
  it('adds, counts and finds children; parents get smaller ids', () => {
    const t = new NGramTrie(2);
    const a = t.increment(0, 5);
    const ab = t.increment(a, 6, 3);
    expect(t.added).toBe(true);
    expect(t.increment(0, 5)).toBe(a);
    expect(t.added).toBe(false);
    expect(t.child(a, 6)).toBe(ab);
    expect(t.child(a, 7)).toBe(-1);
    expect(t.count(0, 5)).toBe(2);
    expect(t.count(a, 6)).toBe(3);
    expect(t.count(ab, 1)).toBe(0);
    expect(ab).toBeGreaterThan(a);
  });

  it('keeps every entry through many growths', () => {
    const t = new NGramTrie(1);
    const ids: number[] = [];
    for (let i = 0; i < 5000; i++) ids.push(t.increment(i % 7 === 0 ? 0 : ids[i - 1]!, i, i));
    for (let i = 0; i < 5000; i++) {
      const parent = i % 7 === 0 ? 0 : ids[i - 1]!;
      expect(t.child(parent, i)).toBe(ids[i]);
    }
    const arrays = t.toArrays();
    expect(arrays.parent.length).toBe(t.size);
    expect(arrays.count[ids[4999]!]).toBe(4999);
    expect(arrays.order[ids[6]!]).toBe(7);
  });
});

describe('Vocabulary', () => {
  it('reserves <s>, </s>, <unk> and maps unseen tokens to <unk> when not growing', () => {
    const v = new Vocabulary();
    expect(Array.from(v.encode(['a', 'b', 'a'], true))).toEqual([3, 4, 3]);
    expect(Array.from(v.encode(['b', 'zzz'], false))).toEqual([4, 2]);
    expect(v.size).toBe(5);
    expect(v.list).toEqual(['a', 'b']);
    expect(() => Vocabulary.fromTokens(['a', 'a'])).toThrow(/vocabulary\[1\]/);
  });
});
