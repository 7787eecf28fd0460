import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { CHARTS } from './charts';
import { evaluationSections } from './evaluation-sections';
import { esc, fmt, passCell, table } from './html';
import { onnxSections } from './onnx-section';
import type { ReportData } from './types';

/** Renders a Vega-Lite spec to a standalone SVG string (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A self-contained HTML report: inline SVG plots and tables, no scripts, readable offline. */
export async function renderReport(d: ReportData): Promise<string> {
  const figures: string[] = [];
  for (const [id, make] of Object.entries(CHARTS)) {
    const spec = make(d);
    if (spec) figures.push(`<figure class="plot" data-plot="${id}">${await renderSvg(spec)}</figure>`);
  }
  const metricRows = Object.entries(d.metrics)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [esc(k), v as number]);
  const sections: string[] = [];
  sections.push(`<section><h2>Summary</h2>${table(['metric (test split)', 'value'], metricRows)}
    <p>Threshold ${fmt(d.threshold)}${d.thresholdStrategy ? ` (${esc(d.thresholdStrategy)})` : ''}.
    Timings: ${Object.entries(d.seconds)
      .map(([k, v]) => `${esc(k)} ${v.toFixed(1)} s`)
      .join(', ')}${d.backend ? `; backend ${esc(d.backend)}` : ''}.</p></section>`);
  if (d.severity) {
    sections.push(`<section><h2>Severity calibration (seed 001 targets)</h2>${table(
      ['check', 'value', 'target', 'result'],
      d.severity.checks.map((c) => [esc(c.name), c.value ?? Number.NaN, esc(c.target), passCell(c.pass)]),
    )}${table(
      ['true band', 'rows', 'mean energy', 'band range'],
      d.severity.bands.map((b) => [
        esc(b.band),
        String(b.count),
        b.meanEnergy ?? Number.NaN,
        `${b.lower}–${b.upper}`,
      ]),
    )}
    <p>Overall: ${passCell(d.severity.pass)}</p></section>`);
  }
  if (d.detection?.length) {
    sections.push(
      `<section><h2>Detection per failure mode</h2>${table(
        ['mode', 'variant', 'severity', 'rows', 'detected', 'rate', 'in training'],
        d.detection.map((r) => [
          esc(r.mode),
          esc(r.variant),
          r.severity,
          String(r.n),
          String(r.detected),
          r.rate,
          r.heldOut ? '<b>held out</b>' : 'yes',
        ]),
      )}</section>`,
    );
  }
  sections.push(...evaluationSections(d));
  sections.push(...onnxSections(d));
  if (d.promotion) {
    sections.push(
      `<section><h2>Promotion</h2><p>${d.promotion.promoted ? '<span class="pass">promoted</span>' : '<span class="fail">not promoted</span>'} → <code>${esc(d.promotion.destination)}</code></p>${
        d.promotion.reasons.length
          ? `<ul>${d.promotion.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
          : ''
      }</section>`,
    );
  }
  if (d.notes?.length)
    sections.push(
      `<section><h2>Notes</h2><ul>${d.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`,
    );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} .meta{color:#666;margin-top:0}
section{margin:1.5rem 0} table{border-collapse:collapse;margin:.5rem 0} td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f5f5f5} .plots{display:flex;flex-wrap:wrap;gap:1rem} figure.plot{margin:0;border:1px solid #eee;padding:.5rem}
.pass{color:#1a7f37;font-weight:600} .fail{color:#cf222e;font-weight:600} .na{color:#888}
</style></head><body>
<h1>${esc(d.title)}</h1>
<p class="meta">run <code>${esc(d.runId)}</code> · ${esc(d.createdAt)} · model <b>${esc(d.modelType)}</b> · data <b>${esc(d.datasetKind)}</b></p>
${sections.join('\n')}
<section><h2>Plots</h2><div class="plots">${figures.join('\n')}</div></section>
</body></html>
`;
}
