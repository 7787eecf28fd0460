import { describe, expect, it } from 'vitest';
import { SeverityValidationError } from './errors';
import { CRITICAL_ALERT_LINE, dailyReport, formatDailyReport } from './report';
import { clampToScale } from './validate';

describe('dailyReport', () => {
  it('counts energies per band, every band present', () => {
    const report = dailyReport([0.1, 0.2, 0.39, 0.4, 0.9, 1.0, 2.4, 2.5, 3.0]);
    expect(report).toEqual({
      total: 9,
      counts: { normal: 3, low: 2, medium: 1, high: 1, critical: 2 },
      hasCritical: true,
    });
    expect(dailyReport([])).toEqual({
      total: 0,
      counts: { normal: 0, low: 0, medium: 0, high: 0, critical: 0 },
      hasCritical: false,
    });
  });

  it('formats the text with a CRITICAL line only when a critical finding exists', () => {
    const text = formatDailyReport(dailyReport([0.1, 0.2, 0.6, 1.2, 2.0, 2.6]), { date: '2025-10-26' });
    expect(text).toBe(
      [
        'Daily QA Report (2025-10-26)',
        '  Total: 6',
        '  Normal: 2',
        '  Low: 1',
        '  Medium: 1',
        '  High: 1',
        '  Critical: 1',
        '',
        '**CRITICAL ISSUES DETECTED - IMMEDIATE REVIEW REQUIRED**',
      ].join('\n'),
    );
    const calm = formatDailyReport(dailyReport([0.1, 2.4]), { date: new Date(Date.UTC(2025, 0, 2, 23)) });
    expect(calm.split('\n')[0]).toBe('Daily QA Report (2025-01-02)');
    expect(calm).not.toContain(CRITICAL_ALERT_LINE);
    expect(calm).toContain('  Critical: 0');
    expect(formatDailyReport(dailyReport([1]), { title: 'Pump QA' }).split('\n')[0]).toBe('Pump QA');
  });

  it('rejects out-of-range energies, naming the index; clampToScale makes clipping explicit', () => {
    expect(() => dailyReport([0.1, 3.7])).toThrow(/^energies\[1\]: expected a finite number in \[0, 3\]/);
    expect(() => dailyReport([Number.NaN])).toThrow(SeverityValidationError);
    expect(dailyReport([0.1, 3.7].map((e) => clampToScale(e))).counts.critical).toBe(1);
    expect(() => formatDailyReport(dailyReport([]), { date: new Date('nope') })).toThrow(/^options.date: /);
  });
});
