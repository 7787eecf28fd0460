import { esc, fmt, passCell, table } from './html';
import type { FoldStatistic, ReportData } from './types';

const meanSd = (s: FoldStatistic) => (s.mean === null ? '–' : `${fmt(s.mean)} ± ${fmt(s.sd)}`);
const perFold = (s: FoldStatistic) => s.values.map((v) => fmt(v)).join(' · ');

/** The split, the split views (random vs prospective) and the cross-validation, as HTML sections. */
export function evaluationSections(d: ReportData): string[] {
  const out: string[] = [];
  if (d.splitViews?.length) {
    const views = d.splitViews;
    const names = [...new Set(views.flatMap((v) => Object.keys(v.metrics)))].filter((n) =>
      views.some((v) => v.metrics[n] !== undefined),
    );
    out.push(`<section data-section="split-views"><h2>Test splits: ${views.map((v) => esc(v.name)).join(' vs ')}</h2>
    <p>Each split has its own model, fitted, thresholded and calibrated on that split's own parts. The
    saved and gated model is the one of the <b>${esc(views.find((v) => v.main)?.name ?? '')}</b>.</p>
    <ul>${views.map((v) => `<li><b>${esc(v.name)}</b>: ${esc(v.description)}</li>`).join('')}</ul>${table(
      ['metric (test split)', ...views.map((v) => v.name)],
      [
        ...names.map((n) => [esc(n), ...views.map((v) => v.metrics[n] ?? Number.NaN)]),
        ...(views.some((v) => v.severityPass !== undefined)
          ? [['seed-001 calibration', ...views.map((v) => passCell(v.severityPass ?? null))]]
          : []),
      ],
    )}</section>`);
  } else if (d.split) {
    out.push(
      `<section data-section="split"><h2>Test split</h2><p><b>${d.split.by === 'time' ? 'Prospective' : 'Random'}</b>: ${esc(d.split.description)}.</p></section>`,
    );
  }
  const cv = d.crossValidation;
  if (cv) {
    const rows = cv.metrics.map((m) => [
      esc(m.name),
      meanSd(m),
      m.min ?? Number.NaN,
      m.max ?? Number.NaN,
      m.bound ?? Number.NaN,
      perFold(m),
    ]);
    let severity = '';
    if (cv.severity) {
      severity = `<h3>Seed-001 calibration over the folds</h3>${table(
        ['check', 'mean ± sd', 'bound', 'target', 'result at the bound', 'per fold'],
        cv.severity.checks.map((c) => [
          esc(c.name),
          meanSd(c),
          c.bound ?? Number.NaN,
          `${c.comparison} ${fmt(c.target)}`,
          passCell(c.pass),
          perFold(c),
        ]),
      )}${table(
        ['true band', 'mean energy (mean ± sd)', 'per fold'],
        cv.severity.bands.map((b) => [esc(b.name), meanSd(b), perFold(b)]),
      )}`;
    }
    out.push(`<section data-section="cross-validation"><h2>Cross-validation (${cv.folds} folds)</h2>
    <p>${esc(cv.scheme)}. Every fold's model is fitted, thresholded and calibrated on its fold's own
    parts, never on its test part. Bound: ${esc(cv.bound.label)}; ${fmt(cv.seconds, 1)} s.</p>${table(
      ['metric', 'mean ± sd', 'min', 'max', 'bound', 'per fold'],
      rows,
    )}${severity}${
      cv.gate
        ? `<p>Gate on the bound: ${cv.gate.promoted ? '<span class="pass">pass</span>' : '<span class="fail">fail</span>'}</p>${
            cv.gate.reasons.length
              ? `<ul>${cv.gate.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
              : ''
          }`
        : ''
    }</section>`);
  }
  return out;
}
