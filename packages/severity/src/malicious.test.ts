import { describe, expect, it } from 'vitest';
import { SeverityValidationError } from './errors';
import {
  assessMalice,
  assessMaliceFromEvidence,
  escalateSeverity,
  MALICIOUS_FACTOR_WEIGHTS,
  MALICIOUS_INDICATOR_WEIGHTS,
  type MaliciousFactors,
  maliciousProbability,
  maliciousProbabilityFromEvidence,
  maliciousSeverity,
  recommendMaliciousResponse,
} from './malicious';

const factors = (f: Partial<MaliciousFactors> = {}): MaliciousFactors => ({
  clinicalImpact: 0,
  intent: 0,
  evasion: 0,
  persistence: 0,
  attribution: 0,
  ...f,
});

describe('maliciousSeverity', () => {
  it('uses the seed weights, which sum to 1', () => {
    expect(MALICIOUS_FACTOR_WEIGHTS).toEqual({
      clinicalImpact: 0.3,
      intent: 0.3,
      evasion: 0.2,
      persistence: 0.1,
      attribution: 0.1,
    });
    const sum = Object.values(MALICIOUS_FACTOR_WEIGHTS).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 12);
  });

  it('maps score 0 → 2.5 and score 1 → 3.0, always critical', () => {
    expect(maliciousSeverity(factors())).toMatchObject({ value: 2.5, weightedScore: 0 });
    const all = maliciousSeverity(
      factors({ clinicalImpact: 1, intent: 1, evasion: 1, persistence: 1, attribution: 1 }),
    );
    expect(all.value).toBe(3.0);
    expect(all.weightedScore).toBeCloseTo(1, 12);
  });

  it('weights each factor as documented', () => {
    expect(maliciousSeverity(factors({ clinicalImpact: 1 })).exact).toBeCloseTo(2.65, 12);
    expect(maliciousSeverity(factors({ intent: 1 })).exact).toBeCloseTo(2.65, 12);
    expect(maliciousSeverity(factors({ evasion: 1 })).exact).toBeCloseTo(2.6, 12);
    expect(maliciousSeverity(factors({ persistence: 1 })).exact).toBeCloseTo(2.55, 12);
    expect(maliciousSeverity(factors({ attribution: 1 })).exact).toBeCloseTo(2.55, 12);
  });

  it('rounds to one decimal, halves up', () => {
    expect(maliciousSeverity(factors({ clinicalImpact: 1 })).value).toBe(2.7); // 2.65
    expect(maliciousSeverity(factors({ clinicalImpact: 1, intent: 1, evasion: 0.5 })).value).toBe(2.9); // 2.85
    expect(maliciousSeverity(factors({ clinicalImpact: 0.5 })).value).toBe(2.6); // 2.575
  });

  it('rejects factors outside [0, 1] and missing factors, naming them', () => {
    expect(() => maliciousSeverity(factors({ evasion: 1.2 }))).toThrow(/^factors.evasion: /);
    expect(() => maliciousSeverity(factors({ intent: Number.NaN }))).toThrow(SeverityValidationError);
    const { attribution: _omitted, ...partial } = factors();
    expect(() => maliciousSeverity(partial as MaliciousFactors)).toThrow(/^factors.attribution: /);
  });
});

describe('escalateSeverity', () => {
  const seedExample = factors({
    clinicalImpact: 0.9,
    intent: 1,
    evasion: 0.9,
    persistence: 1,
    attribution: 0.8,
  });

  it("reproduces seed 001's 1.8 → 3.0", () => {
    const result = escalateSeverity(1.8, seedExample);
    expect(result).toMatchObject({ from: 1.8, to: 3.0, escalated: true, band: 'critical' });
    expect(result.malicious?.weightedScore).toBeCloseTo(0.93, 12);
  });

  it('does nothing without intent', () => {
    const result = escalateSeverity(1.8, { ...seedExample, intent: 0 });
    expect(result).toMatchObject({ from: 1.8, to: 1.8, escalated: false, band: 'high', malicious: null });
  });

  it('never lowers a severity', () => {
    const weak = factors({ intent: 0.2 });
    expect(escalateSeverity(2.9, weak)).toMatchObject({ to: 2.9, escalated: false });
    expect(escalateSeverity(0.6, weak)).toMatchObject({ to: 2.5, escalated: true, band: 'critical' });
  });

  it('validates the severity', () => {
    expect(() => escalateSeverity(4, seedExample)).toThrow(/^severity: /);
  });
});

describe('maliciousProbability (noisy-OR)', () => {
  const ids = Object.keys(MALICIOUS_INDICATOR_WEIGHTS);

  it('uses the seed indicator weights', () => {
    expect(MALICIOUS_INDICATOR_WEIGHTS).toEqual({
      multiple_anomalies: 0.8,
      statistical_evasion: 0.7,
      temporal_pattern: 0.6,
      audit_issues: 0.9,
      targeting: 0.9,
    });
  });

  it('is 0 without evidence and p for a single indicator', () => {
    expect(maliciousProbability([])).toBe(0);
    expect(maliciousProbability({})).toBe(0);
    expect(maliciousProbability(['temporal_pattern'])).toBeCloseTo(0.6, 12);
  });

  it('combines as 1 − Π(1 − p)', () => {
    expect(maliciousProbability(['multiple_anomalies', 'statistical_evasion', 'audit_issues'])).toBeCloseTo(
      1 - 0.2 * 0.3 * 0.1,
      12,
    );
    // the mean rule would give 0.75 here, lower than audit_issues alone
    expect(maliciousProbability(['audit_issues', 'temporal_pattern'])).toBeCloseTo(0.96, 12);
  });

  it('is monotone: adding any indicator to any set never lowers the probability, and raises it', () => {
    for (let mask = 0; mask < 1 << ids.length; mask++) {
      const active = ids.filter((_, i) => mask & (1 << i));
      const p = maliciousProbability(active);
      for (const extra of ids.filter((id) => !active.includes(id))) {
        expect(maliciousProbability([...active, extra])).toBeGreaterThan(p);
      }
    }
  });

  it('accepts an object of flags and ignores duplicates', () => {
    expect(maliciousProbability({ audit_issues: true, targeting: false })).toBeCloseTo(0.9, 12);
    expect(maliciousProbability(['audit_issues', 'audit_issues'])).toBeCloseTo(0.9, 12);
    expect(maliciousProbability(new Set(['targeting']))).toBeCloseTo(0.9, 12);
  });

  it('rejects unknown indicators, listing the known ones', () => {
    expect(() => maliciousProbability(['insider'])).toThrow(
      /indicators: expected indicator ids among multiple_anomalies, statistical_evasion, temporal_pattern, audit_issues, targeting, received "insider"/,
    );
    expect(() => maliciousProbability({ audit_issues: 1 as never })).toThrow(
      /^indicators.audit_issues: expected a boolean/,
    );
    expect(() => maliciousProbability('audit_issues' as never)).toThrow(SeverityValidationError);
  });

  it('takes custom weights for another domain', () => {
    const weights = { vibration_signature: 0.5, tamper_seal: 0.95 };
    expect(maliciousProbability(['vibration_signature', 'tamper_seal'], { weights })).toBeCloseTo(0.975, 12);
    expect(() => maliciousProbability(['audit_issues'], { weights })).toThrow(
      /among vibration_signature, tamper_seal/,
    );
    expect(() => maliciousProbability([], { weights: { x: 2 } })).toThrow(/^options.weights.x: /);
  });
});

describe('recommendMaliciousResponse', () => {
  it.each([
    [2.7, 0.71, 'high_confidence_malicious', 'immediate (< 15 min)'],
    [3.0, 0.99, 'high_confidence_malicious', 'immediate (< 15 min)'],
    [2.7, 0.7, 'forensic_investigation', '15–30 min'], // p must exceed 0.7; band routing is faster than 15–60
    [2.69, 0.9, 'forensic_investigation', '15–60 min'],
    [2.5, 0.51, 'forensic_investigation', '15–60 min'],
    [2.5, 0.5, 'accidental_high', '30–60 min'], // critical band routing beats the level's 1–4 h
    [2.8, 0.1, 'accidental_high', '15–30 min'],
    [2.0, 0.9, 'accidental_high', '1–4 hours'],
    [1.99, 0.9, 'routine', '1–4 hours'], // high band routing beats routine 24 h
    [1.2, 0, 'routine', 'within 24 hours'],
    [0.2, 0, 'routine', 'within 24 hours'],
  ] as const)('energy %s, p %s → %s (%s)', (energy, p, level, label) => {
    const r = recommendMaliciousResponse(energy, p);
    expect(r.level).toBe(level);
    expect(r.responseTime.label).toBe(label);
  });

  it('validates energy and probability', () => {
    expect(() => recommendMaliciousResponse(3.1, 0.5)).toThrow(/^energy: /);
    expect(() => recommendMaliciousResponse(2.8, 1.5)).toThrow(/^probability: /);
  });
});

describe('assessMalice', () => {
  it("turns the seed's output example into an immediate incident response", () => {
    const result = assessMalice(2.8, ['multiple_anomalies', 'statistical_evasion', 'audit_issues']);
    expect(result.band).toBe('critical');
    expect(result.maliciousProbability).toBeCloseTo(0.994, 12);
    expect(result.indicators).toEqual([
      { id: 'multiple_anomalies', weight: 0.8 },
      { id: 'statistical_evasion', weight: 0.7 },
      { id: 'audit_issues', weight: 0.9 },
    ]);
    expect(result.recommendation.level).toBe('high_confidence_malicious');
  });
});

describe('maliciousProbabilityFromEvidence (graded noisy-OR)', () => {
  it('is 1 − Π(1 − wᵢ·sᵢ) and agrees with the boolean form at strengths 0 and 1', () => {
    const p = maliciousProbabilityFromEvidence({ audit_issues: 0.5, multiple_anomalies: 1 });
    expect(p).toBeCloseTo(1 - (1 - 0.9 * 0.5) * (1 - 0.8), 12);
    expect(
      maliciousProbabilityFromEvidence({ audit_issues: 1, targeting: 0, temporal_pattern: 1 }),
    ).toBeCloseTo(maliciousProbability(['audit_issues', 'temporal_pattern']), 12);
    expect(maliciousProbabilityFromEvidence({})).toBe(0);
  });

  it('only rises with more or stronger evidence', () => {
    const weak = maliciousProbabilityFromEvidence({ statistical_evasion: 0.3 });
    const strong = maliciousProbabilityFromEvidence({ statistical_evasion: 0.9 });
    const both = maliciousProbabilityFromEvidence({ statistical_evasion: 0.9, temporal_pattern: 0.2 });
    expect(weak).toBeLessThan(strong);
    expect(strong).toBeLessThan(both);
  });

  it('refuses unknown indicators and strengths outside [0, 1], naming them', () => {
    expect(() => maliciousProbabilityFromEvidence({ gut_feeling: 1 })).toThrow(SeverityValidationError);
    expect(() => maliciousProbabilityFromEvidence({ audit_issues: 1.5 })).toThrow(/evidence\.audit_issues/);
    expect(() => maliciousProbabilityFromEvidence(null as never)).toThrow(/evidence/);
  });

  it('assessMaliceFromEvidence gives the contributions and seed 001’s recommendation', () => {
    const a = assessMaliceFromEvidence(2.8, { audit_issues: 1, multiple_anomalies: 1, targeting: 0 });
    expect(a.maliciousProbability).toBeCloseTo(1 - 0.1 * 0.2, 12);
    expect(a.indicators.map((i) => [i.id, i.confidence])).toEqual([
      ['audit_issues', 0.9],
      ['multiple_anomalies', 0.8],
    ]);
    expect(a.recommendation.level).toBe('high_confidence_malicious');
    expect(a.band).toBe('critical');
    expect(assessMaliceFromEvidence(2.1, { audit_issues: 0.5 }).recommendation.level).toBe('accidental_high');
  });
});
