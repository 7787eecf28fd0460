import { BAND_IDS } from '@anomalia/severity';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { REPORT_CHARTS } from './charts';
import type { DailyReportData, ReportAlert } from './data';

/** Renders a Vega-Lite spec to a standalone SVG string in Node (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
const time = (ms: number | null) =>
  ms === null ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + 'Z';
const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(3));

function table(headers: string[], rows: string[][]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function alertRow(a: ReportAlert): string[] {
  return [
    `<span class="band ${esc(a.band)}">${esc(a.band)}</span>`,
    esc(a.severity.toFixed(2)),
    `${esc(a.recordId)}<br><small>${esc(a.source)}${a.patientId ? ` · patient ${esc(a.patientId)}` : ''}</small>`,
    `${esc(a.action)}<br><small>respond ${esc(a.responseTime)}${a.deadlineAt ? `, by ${esc(time(a.deadlineAt))}` : ''}</small>`,
    a.topFeatures
      .map((f) => `${esc(f.feature)} = ${esc(num(f.value))} <small>(${esc(num(f.contribution))})</small>`)
      .join('<br>') || '–',
    `${a.steps.length ? `<ol>${a.steps.map((s) => `<li>${esc(s)}</li>`).join('')}</ol>` : '–'}${
      a.malicious
        ? `<p class="malice">malicious p=${esc(a.malicious.probability.toFixed(2))}: ${esc(a.malicious.message)}</p>`
        : ''
    }`,
    `${esc(a.state)}${a.stateBy ? `<br><small>${esc(a.stateBy)}</small>` : ''}`,
  ];
}

/** The daily report as one self-contained HTML page: inline SVG plots and tables, no scripts. */
export async function renderReportHtml(d: DailyReportData): Promise<string> {
  const figures: string[] = [];
  for (const [id, make] of Object.entries(REPORT_CHARTS)) {
    const spec = make(d);
    if (spec) figures.push(`<figure class="plot" data-plot="${id}">${await renderSvg(spec)}</figure>`);
  }
  const counts = table(
    ['total', ...BAND_IDS, 'invalid'],
    [[String(d.total), ...BAND_IDS.map((b) => String(d.counts[b])), String(d.invalid)]],
  );
  const trend = table(
    ['day', 'total', ...BAND_IDS, 'mean energy'],
    d.trend.map((t) => [
      esc(t.day),
      String(t.total),
      ...BAND_IDS.map((b) => String(t.counts[b])),
      t.meanEnergy === null ? '–' : t.meanEnergy.toFixed(3),
    ]),
  );
  const alerts = d.alerts.length
    ? table(
        ['band', 'severity', 'record', 'action', 'top features', 'recommended steps', 'state'],
        d.alerts.map(alertRow),
      )
    : '<p>No critical or high alerts.</p>';
  const banner = d.hasCritical
    ? '<p class="critical-banner">CRITICAL ISSUES DETECTED - IMMEDIATE REVIEW REQUIRED</p>'
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Daily QA Report ${esc(d.day)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} .meta{color:#666;margin-top:0}
section{margin:1.5rem 0} table{border-collapse:collapse;margin:.5rem 0} td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top;font-variant-numeric:tabular-nums}
th{background:#f5f5f5} ol{margin:0;padding-left:1.2rem} small{color:#666}
.plots{display:flex;flex-wrap:wrap;gap:1rem} figure.plot{margin:0;border:1px solid #eee;padding:.5rem;max-width:100%;overflow-x:auto}
.critical-banner{background:#a50f15;color:#fff;padding:.6rem 1rem;font-weight:700}
.band{font-weight:700;text-transform:uppercase} .band.critical{color:#a50f15} .band.high{color:#d94801} .malice{color:#a50f15;margin:.3rem 0 0}
</style></head><body>
<h1>Daily QA Report (${esc(d.day)})</h1>
<p class="meta">models ${esc(d.models.join(', ') || '–')} · days in ${esc(d.timeZone)} · generated ${esc(d.generatedAt)}</p>
${banner}
<section><h2>Records per band</h2>${counts}</section>
<section><h2>Critical and high alerts (${d.alerts.length})</h2>${alerts}</section>
<section><h2>Trend</h2>${trend}</section>
<section><h2>Plots</h2><div class="plots">${figures.join('\n')}</div></section>
</body></html>
`;
}
