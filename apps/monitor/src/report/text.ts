import { BAND_IDS, formatDailyReport } from '@anomalia/severity';
import type { DailyReportData, ReportAlert } from './data';

const time = (ms: number | null) =>
  ms === null ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + 'Z';
const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(3));

/** The report as text: seed 001's counts first (its exact layout), then the alerts and the trend. */
export function formatReportText(d: DailyReportData): string {
  const lines = [
    formatDailyReport(
      { total: d.total - d.invalid, counts: d.counts, hasCritical: d.hasCritical },
      { date: d.day },
    ),
  ];
  if (d.invalid > 0) lines.push('', `Invalid model outputs (not a number): ${d.invalid}`);
  lines.push('', `Critical and high alerts: ${d.alerts.length}`);
  for (const a of d.alerts) lines.push(...alertLines(a));
  const states = Object.entries(d.alertStates)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  if (states) lines.push('', `Alert states (all bands): ${states}`);
  if (d.featureFrequency.length)
    lines.push(
      '',
      `Features behind critical and high alerts: ${d.featureFrequency
        .slice(0, 8)
        .map((f) => `${f.feature} ×${f.alerts}`)
        .join(', ')}`,
    );
  lines.push('', `Trend (${d.trend.length} days):`);
  lines.push(
    `  ${'day'.padEnd(10)}  ${'total'.padStart(6)}  ${BAND_IDS.map((b) => b.padStart(8)).join('')}  mean energy`,
  );
  for (const t of d.trend)
    lines.push(
      `  ${t.day}  ${String(t.total).padStart(6)}  ${BAND_IDS.map((b) => String(t.counts[b]).padStart(8)).join('')}  ${t.meanEnergy === null ? '–' : t.meanEnergy.toFixed(3)}`,
    );
  lines.push(
    '',
    `Models: ${d.models.join(', ') || '–'} · days in ${d.timeZone} · generated ${d.generatedAt}`,
  );
  return lines.join('\n');
}

function alertLines(a: ReportAlert): string[] {
  const out = [
    `  ${a.band.toUpperCase()} ${a.severity.toFixed(2)}  record ${a.recordId} (${a.source})${a.patientId ? `  patient ${a.patientId}` : ''}` +
      `  ${a.action}, respond ${a.responseTime}${a.deadlineAt ? ` (by ${time(a.deadlineAt)})` : ''}  [${a.state}${a.stateBy ? ` by ${a.stateBy}` : ''}]`,
  ];
  if (a.topFeatures.length)
    out.push(
      `    features: ${a.topFeatures.map((f) => `${f.feature}=${num(f.value)} (${num(f.contribution)})`).join(', ')}`,
    );
  if (a.malicious && (a.malicious.probability > 0 || (a.malicious.indicators ?? []).length > 0)) {
    out.push(`    malicious: p=${a.malicious.probability.toFixed(2)}, ${a.malicious.message}`);
    for (const i of a.malicious.indicators ?? []) out.push(`      · ${i}`);
  }
  if (a.steps.length) out.push(`    recommended: ${a.steps.join('; ')}`);
  return out;
}
