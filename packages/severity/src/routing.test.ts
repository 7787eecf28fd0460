import { describe, expect, it } from 'vitest';
import { SeverityValidationError } from './errors';
import { criticalTier, DEFAULT_PLAYBOOK, moreUrgent, responseTime, route } from './routing';

describe('route', () => {
  it.each([
    [0.1, 'normal', 'none'],
    [0.4, 'low', 'log'],
    [1.0, 'medium', 'queue'],
    [1.8, 'high', 'urgent_review'],
    [2.5, 'critical', 'page'],
    [3.0, 'critical', 'page'],
  ] as const)('%s → %s → %s', (value, band, action) => {
    const decision = route(value);
    expect(decision.band).toBe(band);
    expect(decision.action).toBe(action);
    expect(decision.steps).toEqual(DEFAULT_PLAYBOOK.bands[band]);
  });

  it('adds the tier steps only for malicious critical findings', () => {
    expect(route(2.95, { malicious: true }).steps).toEqual([
      ...DEFAULT_PLAYBOOK.bands.critical,
      ...DEFAULT_PLAYBOOK.malicious.upper,
    ]);
    expect(route(2.95).steps).toEqual(DEFAULT_PLAYBOOK.bands.critical);
    expect(route(2.0, { malicious: true }).steps).toEqual(DEFAULT_PLAYBOOK.bands.high);
  });

  it('uses a playbook and falls back per entry', () => {
    const decision = route(2.6, { malicious: true, playbook: { bands: { critical: ['Call Bob'] } } });
    expect(decision.steps).toEqual(['Call Bob', ...DEFAULT_PLAYBOOK.malicious.lower]);
  });

  it('rejects bad options', () => {
    expect(() => route(1, { malicious: 'yes' as never })).toThrow(/options.malicious: expected a boolean/);
    expect(() => route(1, { playbook: { bands: { high: [] } } })).toThrow(/options.playbook.bands.high/);
    expect(() => route(Number.NaN)).toThrow(SeverityValidationError);
  });
});

describe('response times', () => {
  it.each([
    [0.0, 'none', null],
    [0.39, 'none', null],
    [0.4, 'days (routine data-quality review)', null],
    [0.99, 'days (routine data-quality review)', null],
    [1.0, 'within 24 hours', 1440],
    [1.79, 'within 24 hours', 1440],
    [1.8, '1–4 hours', 240],
    [2.49, '1–4 hours', 240],
    // critical sub-ranges: 2.5–2.6 → 30–60 min, 2.7–2.8 → 15–30 min, 2.9–3.0 → immediate
    [2.5, '30–60 min', 60],
    [2.6, '30–60 min', 60],
    [2.65, '30–60 min', 60], // between documented sub-ranges: the lower tier
    [2.6999, '30–60 min', 60],
    [2.7, '15–30 min', 30],
    [2.8, '15–30 min', 30],
    [2.85, '15–30 min', 30],
    [2.8999, '15–30 min', 30],
    [2.9, 'immediate (< 15 min)', 15],
    [3.0, 'immediate (< 15 min)', 15],
  ] as const)('%s → %s', (value, label, maxMinutes) => {
    expect(responseTime(value).label).toBe(label);
    expect(responseTime(value).maxMinutes).toBe(maxMinutes);
  });

  it('maps critical values to tiers', () => {
    expect([2.4, 2.5, 2.65, 2.7, 2.85, 2.9, 3].map(criticalTier)).toEqual([
      null,
      'lower',
      'lower',
      'middle',
      'middle',
      'upper',
      'upper',
    ]);
  });

  it('is never less urgent as severity grows', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let v = 0; v <= 3.0001; v += 0.01) {
      const max = responseTime(Math.min(v, 3)).maxMinutes ?? Number.POSITIVE_INFINITY;
      expect(max).toBeLessThanOrEqual(previous);
      previous = max;
    }
  });

  it('moreUrgent picks the earlier deadline', () => {
    const a = responseTime(1.0);
    const b = responseTime(2.9);
    const none = responseTime(0);
    expect(moreUrgent(a, b)).toBe(b);
    expect(moreUrgent(b, a)).toBe(b);
    expect(moreUrgent(none, a)).toBe(a);
    expect(moreUrgent(a, none)).toBe(a);
  });
});
