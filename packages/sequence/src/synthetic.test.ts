import { describe, expect, it } from 'vitest';
import { ANOMALOUS_PATTERNS, generateSyntheticSamples, NORMAL_PATTERNS } from './synthetic';

describe('generateSyntheticSamples', () => {
  it('is deterministic per seed and honours the anomaly ratio', () => {
    const a = generateSyntheticSamples(1000, { seed: 1, anomalyRatio: 0.3 });
    expect(generateSyntheticSamples(1000, { seed: 1, anomalyRatio: 0.3 })).toEqual(a);
    expect(generateSyntheticSamples(1000, { seed: 2 })).not.toEqual(a);
    expect(a.filter((s) => s.label === 1)).toHaveLength(300);
    expect(new Set(a.map((s) => s.kind))).toEqual(new Set(['normal', 'injected', 'burst', 'reordered']));
  });

  it('builds each kind as documented', () => {
    const anomalousActions = new Set(ANOMALOUS_PATTERNS.flat());
    const normalActions = new Set(NORMAL_PATTERNS.flat());
    for (const s of generateSyntheticSamples(600, { seed: 3, noise: 0 })) {
      if (s.kind === 'normal') {
        expect(s.sequence.every((t) => normalActions.has(t))).toBe(true);
        expect(s.sequence.length % 3).toBe(0);
      } else if (s.kind === 'injected')
        expect(s.sequence.filter((t) => anomalousActions.has(t)).length).toBeGreaterThanOrEqual(3);
      else if (s.kind === 'burst') expect(s.sequence.join(' ')).toMatch(/(\b\w+\b)( \1){4,}/);
      else expect(s.sequence.every((t) => normalActions.has(t))).toBe(true);
      expect(s.label).toBe(s.kind === 'normal' ? 0 : 1);
    }
  });

  it('validates its options', () => {
    expect(() => generateSyntheticSamples(-1)).toThrow(/count/);
    expect(() => generateSyntheticSamples(10, { anomalyRatio: 2 })).toThrow(/anomalyRatio/);
    expect(() => generateSyntheticSamples(10, { minPatterns: 3, maxPatterns: 2 })).toThrow(/maxPatterns/);
  });
});
