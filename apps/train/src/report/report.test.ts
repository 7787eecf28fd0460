import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@anomalia/core';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectReport } from '../testing/browser';
import { CHARTS } from './charts';
import { renderReport } from './render';
import type { ReportData } from './types';

function sampleReport(): ReportData {
  const rng = new Rng(1);
  const test = Array.from({ length: 300 }, (_, i) => {
    const label = (i % 3 === 0 ? 1 : 0) as 0 | 1;
    const severity = label ? [0.6, 1.2, 2.0, 2.8][i % 4]! : 0;
    return { score: severity + rng.normal(0.15, 0.1), label, severity };
  });
  return {
    title: 'Report <test> & checks',
    runId: 'r1',
    createdAt: '2026-01-01T00:00:00Z',
    modelType: 'ebm',
    datasetKind: 'mosaiq',
    scoreName: 'energy',
    seconds: { fit: 1.5 },
    metrics: { roc_auc: 0.97, average_precision: 0.9, n_test: 300 },
    threshold: 0.4,
    thresholdStrategy: 'max-f1 on the validation split',
    history: Array.from({ length: 10 }, (_, i) => ({
      epoch: i + 1,
      loss: 1 / (i + 1),
      val_mae: 0.5 / (i + 1),
    })),
    test,
    confusion: {
      title: 'bands',
      labels: ['normal', 'low'],
      counts: [
        [10, 2],
        [1, 7],
      ],
    },
    roc: { fpr: [0, 0.1, 1], tpr: [0, 0.9, 1] },
    pr: { precision: [0.5, 0.9, 1], recall: [1, 0.8, 0] },
    severity: {
      bands: [
        { band: 'normal', lower: 0, upper: 0.4, count: 200, meanEnergy: 0.15 },
        { band: 'low', lower: 0.4, upper: 1, count: 25, meanEnergy: 0.7 },
        { band: 'high', lower: 1.8, upper: 2.5, count: 0, meanEnergy: null },
      ],
      checks: [
        { name: 'mae', value: 0.12, target: '< 0.3', pass: true },
        { name: 'separation.criticalHigh', value: null, target: '> 0.5', pass: null },
      ],
      pass: false,
    },
    featureImportance: [
      { feature: 'mu_negative', importance: 0.5 },
      { feature: 'a_out_of_range', importance: 0.2 },
    ],
    featureImportanceMethod: 'gradient saliency',
    detection: [
      {
        mode: 'corrupt_mlc_data',
        variant: 'odd_bytes',
        severity: 0.6,
        n: 10,
        detected: 8,
        rate: 0.8,
        heldOut: true,
      },
    ],
    timeline: Array.from({ length: 100 }, (_, t) => ({
      t,
      score: Math.sin(t / 10),
      label: (t > 80 ? 1 : 0) as 0 | 1,
    })),
    promotion: { promoted: false, destination: 'models/candidates/r1', reasons: ['MAE too high'] },
    notes: ['a note'],
    split: { by: 'time', description: 'the 45 most recent examples' },
    splitViews: [
      {
        name: 'prospective (time split)',
        description: 'the 45 most recent examples',
        main: true,
        metrics: { roc_auc: 0.95, severity_mae: 0.14, category_accuracy: 0.9, binary_accuracy: 0.95 },
        severityPass: false,
      },
      {
        name: 'random split',
        description: 'stratified by band',
        main: false,
        metrics: { roc_auc: 0.97, severity_mae: 0.12, category_accuracy: 0.92, binary_accuracy: 0.96 },
        severityPass: true,
      },
    ],
    crossValidation: {
      folds: 3,
      scheme: '3 folds grouped by patient',
      bound: { kind: 'mean-sd', sds: 1, label: 'mean − 1 sd' },
      metrics: [
        stat('roc_auc', [0.96, 0.98, 0.97], 0.96),
        stat('severity_mae', [0.1, 0.14, 0.12], 0.14, false),
        stat('category_accuracy', [0.9, 0.93, 0.92], 0.9),
      ],
      severity: {
        checks: [
          { ...stat('mae', [0.1, 0.14, 0.12], 0.14, false), target: 0.3, comparison: '<', pass: true },
          {
            ...stat('separation.mediumLow', [0.25, 0.35, null], 0.25),
            target: 0.3,
            comparison: '>',
            pass: null,
          },
        ],
        bands: [stat('normal', [0.1, 0.12, 0.11], null), stat('low', [0.7, 0.72, 0.69], null)],
      },
      gate: { promoted: false, reasons: ['cross-validation (mean − 1 sd over 3 folds): MAE <b>'] },
      seconds: 12.5,
    },
  };
}

function stat(name: string, values: Array<number | null>, bound: number | null, higherIsBetter = true) {
  const v = values.filter((x): x is number => x !== null);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { name, values, mean, sd, min: Math.min(...v), max: Math.max(...v), bound, higherIsBetter };
}

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'anomalia-report-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('report', () => {
  it('renders every plot as inline SVG, escapes text, and needs no script', async () => {
    const html = await renderReport(sampleReport());
    expect(html).toContain('Report &lt;test&gt; &amp; checks');
    expect(html).not.toContain('<script');
    for (const id of Object.keys(CHARTS)) expect(html, id).toContain(`data-plot="${id}"`);
    expect(html).toContain('held out');
    expect(html).toContain('<span class="na">n/a</span>');
  });

  it('shows the cross-validation as mean ± sd with per-fold values, and the split views side by side', async () => {
    const html = await renderReport(sampleReport());
    const cv = html.slice(html.indexOf('data-section="cross-validation"'));
    expect(cv).toContain('Cross-validation (3 folds)');
    expect(cv).toContain('3 folds grouped by patient');
    expect(cv).toContain('<td>0.970 ± 0.010</td>');
    expect(cv).toContain('0.960 · 0.980 · 0.970');
    expect(cv).toContain('0.250 · 0.350 · –');
    expect(cv).toContain('MAE &lt;b&gt;');
    const views = html.slice(
      html.indexOf('data-section="split-views"'),
      html.indexOf('data-section="cross-validation"'),
    );
    expect(views).toContain('<th>prospective (time split)</th><th>random split</th>');
    expect(views).toContain('<td>roc_auc</td><td>0.950</td><td>0.970</td>');
    const d = sampleReport();
    delete d.crossValidation;
    delete d.splitViews;
    const plain = await renderReport(d);
    for (const id of ['cv-metrics', 'cv-calibration', 'split-views'])
      expect(plain).not.toContain(`data-plot="${id}"`);
    expect(plain).toContain('<b>Prospective</b>: the 45 most recent examples.');
  });

  it('omits plots the run has no data for', async () => {
    const d = sampleReport();
    delete d.history;
    delete d.timeline;
    const html = await renderReport(d);
    expect(html).not.toContain('data-plot="training-curves"');
    expect(html).not.toContain('data-plot="timeline"');
  });

  it('displays in headless Chromium with every plot drawn', async () => {
    const dir = await tempDir();
    const path = join(dir, 'report.html');
    await writeFile(path, await renderReport(sampleReport()));
    const { title, plots, errors } = await inspectReport(path);
    expect(title).toBe('Report <test> & checks');
    expect(errors).toEqual([]);
    expect(plots.map((p) => p.id).sort()).toEqual(Object.keys(CHARTS).sort());
    for (const p of plots) {
      expect(p.width, p.id).toBeGreaterThan(100);
      expect(p.height, p.id).toBeGreaterThan(50);
      expect(p.marks, p.id).toBeGreaterThan(0);
    }
  });

  it('sees in the browser when a plot is missing or drawn empty', async () => {
    const dir = await tempDir();
    const html = await renderReport(sampleReport());
    // One figure removed, another with its marks stripped: what a broken renderer would produce.
    const broken = html
      .replace(/<figure class="plot" data-plot="roc">[\s\S]*?<\/figure>/, '')
      .replace(
        /(<figure class="plot" data-plot="pr">[\s\S]*?)<g class="mark-[\s\S]*?(<\/svg><\/figure>)/,
        '$1$2',
      );
    expect(broken).not.toContain('data-plot="roc"');
    const path = join(dir, 'broken.html');
    await writeFile(path, broken);
    const { plots } = await inspectReport(path);
    expect(plots.map((p) => p.id)).not.toContain('roc');
    expect(plots.map((p) => p.id).sort()).not.toEqual(Object.keys(CHARTS).sort());
    expect(plots.find((p) => p.id === 'pr')?.marks).toBe(0);
  });
});
