import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { createLogger } from '../log';
import { assembleMonitor, type RunningMonitor } from '../service/assemble';
import { MemoryChangeSource } from '../testing/memory-source';
import { collectDailyReport, dayRange } from './data';
import { renderReportHtml } from './render';
import { formatReportText } from './text';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-monitor-report-'));
let monitor: RunningMonitor;
const EVIL = '<img src=x onerror=alert(1)>';

// Three days of treatments (local time): 4, 6 and 10 records; the last day has the findings.
beforeAll(async () => {
  const config = parseConfig({
    source: { name: 'site-a', database: { type: 'sqlite', path: 'unused.sqlite' } },
    model: { dir: 'unused' },
    state: { path: join(dir, 'state.sqlite') },
    sinks: [{ name: 'file', type: 'jsonl', path: join(dir, 'alerts.jsonl') }],
  });
  const source = new MemoryChangeSource();
  let id = 0;
  const add = (day: number, severity: number, extra: Record<string, number> = {}, recordId?: string) =>
    source.upsert({
      id: recordId ?? String(++id),
      patientId: `PAT-${id}`,
      occurredAt: new Date(2026, 0, day, 9, id).getTime(),
      features: { mu_delta: severity, ...extra },
      malicious: severity > 2.9 ? { probability: 0.9, indicators: ['audit_issues', 'targeting'] } : null,
    });
  [0.1, 0.1, 0.2, 0.6].forEach((s) => {
    add(3, s);
  });
  [0.1, 0.2, 0.2, 0.3, 1.1, 1.9].forEach((s) => {
    add(4, s);
  });
  [0.1, 0.1, 0.15, 0.2, 0.3, 0.5].forEach((s) => {
    add(5, s);
  });
  add(5, 1.2, { offset_age: 0.3 });
  add(5, 2.0, { offset_age: 0.1 });
  add(5, 2.95, { offset_age: 0.02 }, EVIL);
  add(5, Number.NaN);
  monitor = assembleMonitor(
    config,
    { source, scorer: source.linearScorer({ name: 'ebm', version: '7' }, { mu_delta: 1, offset_age: 1 }) },
    { logger: createLogger({ level: 'silent', redactPatientIdentifiers: true }) },
  );
  await monitor.service.pollOnce();
});

afterAll(async () => {
  await monitor.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('daily report', () => {
  it('counts the day per band in seed 001 layout, lists critical and high alerts with features and actions, and shows the trend', () => {
    const d = collectDailyReport(monitor.store, '2026-01-05', { trendDays: 4, now: Date.UTC(2026, 0, 6) });
    expect(d).toMatchObject({ total: 10, invalid: 1, hasCritical: true, models: ['ebm@7'] });
    expect(d.counts).toEqual({ normal: 5, low: 1, medium: 1, high: 1, critical: 1 });
    expect(d.alerts.map((a) => [a.recordId, a.band, a.action])).toEqual([
      [EVIL, 'critical', 'page'],
      ['18', 'high', 'urgent_review'],
    ]);
    expect(d.alerts[0]!.malicious).toMatchObject({ probability: 0.9, level: 'high_confidence_malicious' });
    expect(d.featureFrequency.map((f) => [f.feature, f.alerts])).toEqual([
      ['mu_delta', 2],
      ['offset_age', 2],
    ]);
    expect(d.trend.map((t) => [t.day, t.total, t.counts.critical])).toEqual([
      ['2026-01-02', 0, 0],
      ['2026-01-03', 4, 0],
      ['2026-01-04', 6, 0],
      ['2026-01-05', 10, 1],
    ]);

    const text = formatReportText(d);
    expect(text.split('\n').slice(0, 10)).toEqual([
      'Daily QA Report (2026-01-05)',
      '  Total: 9',
      '  Normal: 5',
      '  Low: 1',
      '  Medium: 1',
      '  High: 1',
      '  Critical: 1',
      '',
      '**CRITICAL ISSUES DETECTED - IMMEDIATE REVIEW REQUIRED**',
      '',
    ]);
    expect(text).toContain('Invalid model outputs (not a number): 1');
    expect(text).toMatch(
      /CRITICAL 2\.97 {2}record <img src=x onerror=alert\(1\)> \(site-a\) {2}page, respond immediate \(< 15 min\)/,
    );
    expect(text).toContain('features: mu_delta=2.95 (2.95), offset_age=0.0200 (0.0200)');
    expect(text).toContain('malicious: p=0.90, HIGH CONFIDENCE MALICIOUS: immediate incident response');
    expect(text).toMatch(/recommended: .+; .+/);
    expect(text).not.toContain('PAT-');
  });

  it('renders a self-contained HTML page with plots, escaping everything from the data', async () => {
    const d = collectDailyReport(monitor.store, '2026-01-05', { trendDays: 4 });
    const html = await renderReportHtml(d);
    const plots = [...html.matchAll(/<figure class="plot" data-plot="([a-z-]+)"><svg/g)].map((m) => m[1]);
    expect(plots).toEqual(['trend-by-band', 'alert-trend', 'energy-distribution', 'feature-frequency']);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain(EVIL);
    expect(html).toContain(EVIL.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).toContain('CRITICAL ISSUES DETECTED - IMMEDIATE REVIEW REQUIRED');
    expect(html).not.toContain('PAT-');
    const withIds = await renderReportHtml(
      collectDailyReport(monitor.store, '2026-01-05', { identifiers: true }),
    );
    expect(withIds).toContain('patient PAT-');
  });

  it('reports an empty day without plots of nothing, and refuses a day that does not exist', async () => {
    const d = collectDailyReport(monitor.store, '2025-06-01');
    expect(d).toMatchObject({ total: 0, hasCritical: false, alerts: [] });
    expect(formatReportText(d)).toContain('Critical and high alerts: 0');
    expect(await renderReportHtml(d)).not.toContain('<figure');
    expect(() => dayRange('2026-02-30')).toThrow(
      '--day: expected a calendar day as YYYY-MM-DD, received "2026-02-30"',
    );
    expect(() => dayRange('05/01/2026')).toThrow(/--day/);
  });
});
