import type { AlertState, MonitorStore, StoredAlert } from '@anomalia/db-sqlite/monitor-store';
import { clampToScale, dailyReport, type SeverityBand } from '@anomalia/severity';
import type { AlertDetail } from '../alerts';

/** One critical or high alert as the daily report lists it. */
export interface ReportAlert {
  readonly key: string;
  readonly recordId: string;
  readonly source: string;
  /** Only when the report was asked to include identifiers. */
  readonly patientId?: string | null;
  readonly model: string;
  readonly band: string;
  readonly severity: number;
  readonly energy: number;
  readonly action: string;
  readonly tier: string | null;
  readonly responseTime: string;
  readonly deadlineAt: number | null;
  readonly occurredAt: number | null;
  readonly detectedAt: number;
  readonly state: AlertState;
  readonly stateBy: string | null;
  readonly malicious: AlertDetail['malicious'];
  readonly topFeatures: AlertDetail['saliency'];
  readonly steps: readonly string[];
}

export interface TrendDay {
  readonly day: string;
  readonly total: number;
  readonly counts: Readonly<Record<SeverityBand, number>>;
  readonly invalid: number;
  readonly meanEnergy: number | null;
}

export interface DailyReportData {
  readonly day: string;
  readonly timeZone: string;
  readonly from: number;
  readonly to: number;
  readonly generatedAt: string;
  readonly total: number;
  readonly counts: Readonly<Record<SeverityBand, number>>;
  readonly hasCritical: boolean;
  /** Records whose model output was not a number (stored as invalid). */
  readonly invalid: number;
  readonly models: readonly string[];
  /** The day's critical and high alerts, most severe first. */
  readonly alerts: readonly ReportAlert[];
  /** Review states of all the day's alerts. */
  readonly alertStates: Readonly<Record<string, number>>;
  /** The `trendDays` days ending with `day`, oldest first. */
  readonly trend: readonly TrendDay[];
  /** The day's energies on the 0–3 scale (for the distribution plot). */
  readonly energies: readonly number[];
  /** How often each feature is among the top features of the critical and high alerts. */
  readonly featureFrequency: readonly { feature: string; alerts: number; meanContribution: number }[];
}

export interface ReportOptions {
  readonly trendDays?: number;
  /** Show patient identifiers (default: omitted). */
  readonly identifiers?: boolean;
  readonly now?: number;
}

/** `YYYY-MM-DD` → [start, end) of that calendar day in the process's time zone (DST-safe). */
export function dayRange(day: string): { from: number; to: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const date = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
  if (
    !m ||
    !date ||
    date.getFullYear() !== Number(m[1]) ||
    date.getMonth() !== Number(m[2]) - 1 ||
    date.getDate() !== Number(m[3])
  )
    throw new Error(`--day: expected a calendar day as YYYY-MM-DD, received "${day}"`);
  const next = new Date(date);
  next.setDate(next.getDate() + 1);
  return { from: date.getTime(), to: next.getTime() };
}

/** The local calendar day of a time, as YYYY-MM-DD. */
export function localDay(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function shiftDay(day: string, by: number): string {
  const { from } = dayRange(day);
  const d = new Date(from);
  d.setDate(d.getDate() + by);
  return localDay(d.getTime());
}

/** Seed 001's daily QA report, from the state store: what was scored on `day` and what it raised. */
export function collectDailyReport(
  store: MonitorStore,
  day: string,
  options: ReportOptions = {},
): DailyReportData {
  const { from, to } = dayRange(day);
  const trendDays = options.trendDays ?? 7;
  const firstDay = shiftDay(day, -(trendDays - 1));
  const scores = store.scoresBetween(dayRange(firstDay).from, to);
  const byDay = new Map<string, { energies: number[]; invalid: number }>();
  for (let i = 0; i < trendDays; i++) byDay.set(shiftDay(firstDay, i), { energies: [], invalid: 0 });
  for (const s of scores) {
    const bucket = byDay.get(localDay(s.occurredAt ?? s.scoredAt));
    if (!bucket) continue;
    if (s.energy === null) bucket.invalid++;
    else bucket.energies.push(clampToScale(s.energy));
  }
  const trend: TrendDay[] = [...byDay.entries()].map(([d, b]) => {
    const r = dailyReport(b.energies);
    const mean = b.energies.length ? b.energies.reduce((a, e) => a + e, 0) / b.energies.length : null;
    return { day: d, total: r.total + b.invalid, counts: r.counts, invalid: b.invalid, meanEnergy: mean };
  });
  const today = byDay.get(day)!;
  const report = dailyReport(today.energies);

  const dayAlerts = store.alertsBetween(from, to);
  const alertStates: Record<string, number> = {};
  for (const a of dayAlerts) alertStates[a.state] = (alertStates[a.state] ?? 0) + 1;
  const serious = dayAlerts
    .filter((a) => a.band === 'critical' || a.band === 'high')
    .sort((a, b) => b.severity - a.severity || a.detectedAt - b.detectedAt);
  const frequency = new Map<string, { alerts: number; sum: number }>();
  for (const a of serious)
    for (const f of detailOf(a).saliency ?? []) {
      const e = frequency.get(f.feature) ?? { alerts: 0, sum: 0 };
      e.alerts++;
      e.sum += f.contribution;
      frequency.set(f.feature, e);
    }
  const models = [
    ...new Set(
      scores
        .filter((s) => localDay(s.occurredAt ?? s.scoredAt) === day)
        .map((s) => `${s.model.name}@${s.model.version}`),
    ),
  ].sort();
  return {
    day,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    from,
    to,
    generatedAt: new Date(options.now ?? Date.now()).toISOString(),
    total: report.total + today.invalid,
    counts: report.counts,
    hasCritical: report.hasCritical,
    invalid: today.invalid,
    models,
    alerts: serious.map((a) => toReportAlert(a, options.identifiers ?? false)),
    alertStates,
    trend,
    energies: today.energies,
    featureFrequency: [...frequency.entries()]
      .map(([feature, e]) => ({ feature, alerts: e.alerts, meanContribution: e.sum / e.alerts }))
      .sort(
        (a, b) =>
          b.alerts - a.alerts ||
          b.meanContribution - a.meanContribution ||
          a.feature.localeCompare(b.feature),
      ),
  };
}

function detailOf(a: StoredAlert): Partial<AlertDetail> {
  return (a.detail ?? {}) as Partial<AlertDetail>;
}

function toReportAlert(a: StoredAlert, identifiers: boolean): ReportAlert {
  const d = detailOf(a);
  return {
    key: a.key,
    recordId: a.recordId,
    source: a.source,
    ...(identifiers ? { patientId: a.subject } : {}),
    model: `${a.model.name}@${a.model.version}`,
    band: a.band,
    severity: a.severity,
    energy: a.energy,
    action: a.action,
    tier: a.tier,
    responseTime: a.responseLabel,
    deadlineAt: a.deadlineAt,
    occurredAt: a.occurredAt,
    detectedAt: a.detectedAt,
    state: a.state,
    stateBy: a.stateBy,
    malicious: d.malicious ?? null,
    topFeatures: (d.saliency ?? []).slice(0, 5),
    steps: d.steps ?? [],
  };
}
