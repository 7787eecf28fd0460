import { describe, expect, it } from 'vitest';
import { triage } from './triage';

const at = Date.UTC(2026, 0, 5, 9, 0);
const minutes = (t: { deadlineAt: number | null }) =>
  t.deadlineAt === null ? null : (t.deadlineAt - at) / 60_000;

describe('triage', () => {
  it('maps energy to band, action and deadline (seed 001: page now, hours, 24 h, log)', () => {
    const rows = [0.1, 0.6, 1.2, 2.0, 2.55, 2.75, 2.95, 7.5, -1].map((e) => {
      const t = triage(e, { detectedAt: at });
      return [e, t.severity, t.band, t.action, t.tier, t.responseTime.label, minutes(t)];
    });
    expect(rows).toEqual([
      [0.1, 0.1, 'normal', 'none', null, 'none', null],
      [0.6, 0.6, 'low', 'log', null, 'days (routine data-quality review)', null],
      [1.2, 1.2, 'medium', 'queue', null, 'within 24 hours', 1440],
      [2.0, 2.0, 'high', 'urgent_review', null, '1–4 hours', 240],
      [2.55, 2.55, 'critical', 'page', 'lower', '30–60 min', 60],
      [2.75, 2.75, 'critical', 'page', 'middle', '15–30 min', 30],
      [2.95, 2.95, 'critical', 'page', 'upper', 'immediate (< 15 min)', 15],
      // Energies are unbounded: clipped to the scale, never dropped.
      [7.5, 3, 'critical', 'page', 'upper', 'immediate (< 15 min)', 15],
      [-1, 0, 'normal', 'none', null, 'none', null],
    ]);
  });

  it("uses the Mosaiq playbook, adding the tier's malicious steps when malice is suspected", () => {
    const plain = triage(2.95, { detectedAt: at });
    expect(plain.steps.length).toBeGreaterThan(2);
    expect(plain.malicious).toBeNull();
    const suspected = triage(2.95, { detectedAt: at, maliciousProbability: 0.9 });
    expect(suspected.malicious).toMatchObject({
      probability: 0.9,
      suspected: true,
      level: 'high_confidence_malicious',
    });
    expect(suspected.steps.slice(0, plain.steps.length)).toEqual(plain.steps);
    expect(suspected.steps.length).toBeGreaterThan(plain.steps.length);
    const below = triage(2.95, { detectedAt: at, maliciousProbability: 0.4 });
    expect(below.malicious?.suspected).toBe(false);
    expect(below.steps).toEqual(plain.steps);
  });

  it('lets a malicious assessment make the response faster, never slower', () => {
    // medium energy with weak evidence: the recommendation is routine (24 h), the band's 24 h stands.
    expect(minutes(triage(1.2, { detectedAt: at, maliciousProbability: 0.3 }))).toBe(1440);
    // low energy: the band has no deadline, the recommendation's routine review gives one.
    expect(minutes(triage(0.6, { detectedAt: at, maliciousProbability: 0.1 }))).toBe(1440);
    // critical 2.8 with a low probability: still 15–30 min.
    expect(minutes(triage(2.8, { detectedAt: at, maliciousProbability: 0.1 }))).toBe(30);
  });

  it('makes a suspected malicious finding critical however low its energy (seed 001: malice is ≥ 2.5)', () => {
    // A course attack leaves each fraction normal to the model: the evidence decides.
    const t = triage(0.05, { detectedAt: at, maliciousProbability: 0.9, maliciousThreshold: 0.5 });
    expect(t).toMatchObject({
      severity: 2.5,
      escalated: true,
      band: 'critical',
      action: 'page',
      tier: 'lower',
    });
    expect(t.malicious).toMatchObject({ suspected: true, level: 'forensic_investigation' });
    expect(t.steps).toEqual(triage(2.5, { detectedAt: at, maliciousProbability: 0.9 }).steps);
    expect(minutes(t)).toBeLessThanOrEqual(60);
    // At or below the threshold nothing is raised: a low record stays low.
    const below = triage(0.05, { detectedAt: at, maliciousProbability: 0.5, maliciousThreshold: 0.5 });
    expect(below).toMatchObject({ severity: 0.05, escalated: false, band: 'normal' });
    // A higher energy is kept, not lowered to 2.5.
    expect(triage(2.9, { detectedAt: at, maliciousProbability: 0.9 })).toMatchObject({
      severity: 2.9,
      escalated: false,
      tier: 'upper',
    });
  });

  it('raises only a record whose own course carries the evidence, not the patient’s untouched fields', () => {
    const options = { detectedAt: at, maliciousProbability: 0.9, maliciousThreshold: 0.5 };
    const elsewhere = triage(0.05, { ...options, maliciousOwnEvidence: false });
    expect(elsewhere).toMatchObject({ severity: 0.05, escalated: false, band: 'normal', action: 'none' });
    // The patient's probability is still reported, not suspected of this record.
    expect(elsewhere.malicious).toMatchObject({ probability: 0.9, suspected: false, ownEvidence: false });
    expect(elsewhere.steps).toEqual(triage(0.05, { detectedAt: at }).steps);
    // A field's own energy keeps its band: a high record of that patient stays high, without the malicious steps.
    const high = triage(2.1, { ...options, maliciousOwnEvidence: false });
    expect(high).toMatchObject({ band: 'high', escalated: false });
    expect(high.steps).toEqual(triage(2.1, { detectedAt: at }).steps);
    // The course with the evidence is raised, as when the scope is not given.
    expect(triage(0.05, { ...options, maliciousOwnEvidence: true })).toMatchObject({
      escalated: true,
      band: 'critical',
      malicious: { suspected: true, ownEvidence: true },
    });
    expect(triage(0.05, options).malicious).toMatchObject({ suspected: true, ownEvidence: true });
  });

  it('refuses a non-finite energy (the caller stores it as invalid)', () => {
    expect(() => triage(Number.NaN, { detectedAt: at })).toThrow(
      /energy: expected a number \(NaN means the model failed\)/,
    );
  });
});
