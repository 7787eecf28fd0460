import { describe, expect, it } from 'vitest';
import { StideModel } from './stide';
import { Vocabulary } from './vocabulary';

describe('StideModel', () => {
  const vocab = new Vocabulary();
  const stide = new StideModel(3, vocab);
  stide.add(vocab.encode(['a', 'b', 'c', 'd'], true));
  stide.add(vocab.encode(['x', 'y'], true));
  const rate = (s: string[]) => stide.mismatchRate(vocab.encode(s, false));

  it('is 0 for a sequence made of training windows', () => {
    expect(rate(['a', 'b', 'c', 'd'])).toBe(0);
    expect(rate(['b', 'c', 'd'])).toBe(0);
  });
  it('is the fraction of unseen windows', () => {
    // Windows: abc (seen), bcx (unseen), cxy (unseen) → 2/3.
    expect(rate(['a', 'b', 'c', 'x', 'y'])).toBeCloseTo(2 / 3, 12);
    expect(rate(['q', 'r', 's', 't'])).toBe(1);
  });
  it('treats a sequence shorter than the window as one window of its length', () => {
    expect(rate(['x', 'y'])).toBe(0);
    expect(rate(['b', 'c'])).toBe(0);
    expect(rate(['c', 'b'])).toBe(1);
    expect(rate([])).toBe(0);
  });
});
