import { describe, expect, it } from 'vitest';
import { categorize } from './bands';
import { calibrationCheck } from './calibration';
import { defineCatalogue } from './catalogue';
import { UnknownFailureModeError, UnknownVariantError } from './errors';
import {
  assessMalice,
  escalateSeverity,
  maliciousProbability,
  recommendMaliciousResponse,
} from './malicious';
import { dailyReport, formatDailyReport } from './report';
import { DEFAULT_PLAYBOOK, responseTime, route } from './routing';
import { samplingPlan } from './sampling';
import { createSeverityScale } from './scale';

/** A two-mode catalogue for rotating machinery: the package is not tied to Mosaiq. */
const BEARING = defineCatalogue({
  name: 'bearing',
  description: 'Rolling-element bearing faults on a pump.',
  modes: [
    {
      id: 'outer_race_fault',
      kind: 'accidental',
      description: 'Spall on the outer race, seen as a BPFO peak in the envelope spectrum.',
      base: 1.5,
      variants: [
        { id: 'incipient', value: 0.6, rationale: 'Only in the envelope spectrum; months of life left.' },
        { id: 'developed', value: 1.6, rationale: 'Visible in raw vibration; plan a replacement.' },
        { id: 'severe', value: 2.2, rationale: 'Harmonics and sidebands; failure within days.' },
        { id: 'seizure_imminent', value: 2.8, rationale: 'Temperature rising fast; stop the pump.' },
      ],
      qaChecks: ['BPFO peak above baseline in the envelope spectrum', 'Bearing temperature trend'],
    },
    {
      id: 'sensor_tampering',
      kind: 'malicious',
      description: 'Vibration sensor replaced by a replayed healthy signal.',
      base: 2.7,
      variants: [{ id: 'replay', value: 2.9, rationale: 'Hides every fault while the machine degrades.' }],
    },
  ],
  playbook: { bands: { critical: ['Stop the pump', 'Call the reliability engineer'] } },
});

const scale = createSeverityScale(BEARING);

describe('a custom (bearing) catalogue with every function', () => {
  it('looks up modes, variants and bases', () => {
    expect(scale.modeIds()).toEqual(['outer_race_fault', 'sensor_tampering']);
    expect(scale.modeIds('malicious')).toEqual(['sensor_tampering']);
    expect(scale.getMode('outer_race_fault').qaChecks).toHaveLength(2);
    expect(scale.severity('outer_race_fault', 'severe')).toBe(2.2);
    expect(scale.severity('outer_race_fault')).toBe(1.5);
    expect(() => scale.severity('corrupt_mlc_data')).toThrow(UnknownFailureModeError);
    expect(() => scale.severity('corrupt_mlc_data')).toThrow(/in catalogue "bearing"/);
    expect(() => scale.severity('outer_race_fault', 'cracked')).toThrow(UnknownVariantError);
  });

  it('assesses entries with the catalogue playbook, falling back to the default one', () => {
    const critical = scale.assess('outer_race_fault', 'seizure_imminent');
    expect(critical).toMatchObject({
      band: 'critical',
      action: 'page',
      responseTime: { label: '15–30 min' },
    });
    expect(critical.steps).toEqual(['Stop the pump', 'Call the reliability engineer']);
    const tampering = scale.assess('sensor_tampering', 'replay');
    expect(tampering.steps).toEqual([
      'Stop the pump',
      'Call the reliability engineer',
      ...DEFAULT_PLAYBOOK.malicious.upper,
    ]);
    expect(scale.assess('outer_race_fault', 'incipient').steps).toEqual(DEFAULT_PLAYBOOK.bands.low);
    expect(scale.entries().map((e) => [e.variant, e.band])).toEqual([
      ['incipient', 'low'],
      ['developed', 'medium'],
      ['severe', 'high'],
      ['seizure_imminent', 'critical'],
      ['replay', 'critical'],
    ]);
    expect(scale.route(2.95, { malicious: true }).steps).toContain('Notify law enforcement');
  });

  it('plans a severity-balanced sample over its own pairs', () => {
    const strata = scale.pairsByStratum();
    expect(strata.critical_accidental.map((p) => p.variant)).toEqual(['seizure_imminent']);
    expect(strata.critical_malicious.map((p) => p.variant)).toEqual(['replay']);
    const plan = scale.samplingPlan(101);
    expect(plan.strata.reduce((n, s) => n + s.count, 0)).toBe(101);
    expect(plan.strata.find((s) => s.stratum === 'critical_malicious')!.pairs).toEqual([
      {
        mode: 'sensor_tampering',
        variant: 'replay',
        kind: 'malicious',
        value: 2.9,
        band: 'critical',
        count: 5,
      },
    ]);
    expect(samplingPlan(101)).toEqual(Object.fromEntries(plan.strata.map((s) => [s.stratum, s.count])));
  });

  it('escalates an accidental bearing fault found to be sabotage', () => {
    const result = scale.escalate('outer_race_fault', 'developed', {
      clinicalImpact: 0.8,
      intent: 1,
      evasion: 0.9,
      persistence: 0.5,
      attribution: 0.5,
    });
    expect(result).toMatchObject({ from: 1.6, to: 2.9, escalated: true });
    expect(
      escalateSeverity(1.6, { clinicalImpact: 1, intent: 0, evasion: 1, persistence: 1, attribution: 1 }).to,
    ).toBe(1.6);
  });

  it('runs the scale-level functions on bearing severities', () => {
    const truth = scale.entries().map((e) => e.value);
    const energies = [0.1, 0.2, ...truth];
    expect(energies.map((e) => categorize(e))).toEqual([
      'normal',
      'normal',
      'low',
      'medium',
      'high',
      'critical',
      'critical',
    ]);
    expect(route(truth[2]!).action).toBe('urgent_review');
    expect(responseTime(2.9).label).toBe('immediate (< 15 min)');

    const report = dailyReport(energies);
    expect(report.counts).toEqual({ normal: 2, low: 1, medium: 1, high: 1, critical: 2 });
    expect(formatDailyReport(report, { title: 'Pump QA' })).toMatch(/CRITICAL ISSUES DETECTED/);

    const calibration = calibrationCheck(energies, [0.1, 0.2, ...truth]);
    expect(calibration.pass).toBe(true);

    const weights = { replayed_signal: 0.95, spectrum_too_clean: 0.6 };
    const p = maliciousProbability(['replayed_signal', 'spectrum_too_clean'], { weights });
    expect(p).toBeCloseTo(0.98, 12);
    expect(assessMalice(2.9, { replayed_signal: true }, { weights }).recommendation.level).toBe(
      'high_confidence_malicious',
    );
    expect(recommendMaliciousResponse(2.2, 0.1).level).toBe('accidental_high');
  });

  it('accepts a plain object and validates it', () => {
    const plain = createSeverityScale({
      name: 'plain',
      modes: [{ id: 'drift', kind: 'accidental', description: 'Sensor drift.', base: 0.5, variants: [] }],
    });
    expect(plain.entries()).toMatchObject([{ mode: 'drift', variant: null, value: 0.5, band: 'low' }]);
    expect(() => plain.severity('drift', 'slow')).toThrow(/omit the variant to get the base severity/);
    expect(() =>
      createSeverityScale({
        name: 'bad',
        modes: [{ id: 'x', kind: 'malicious', description: 'd', base: 1, variants: [] }],
      }),
    ).toThrow(/^catalogue.modes\[0\].base: expected a malicious mode to be critical/);
  });
});
