import type { AlertInput, CommitInput, ScoreInput } from '@anomalia/db-sqlite/monitor-store';
import type { ResolvedRoute } from './config/schema';
import type { ModelIdentity, ScoredRecord } from './seam';
import { type Triage, triage } from './triage';

/** What the commit of a scored batch needs besides the records. */
export interface AlertContext {
  readonly source: string;
  readonly model: ModelIdentity;
  readonly routes: readonly ResolvedRoute[];
  /** Band rank below which a record is only counted (1 = low). */
  readonly minRank: number;
  readonly maliciousThreshold: number;
  /** Commit time (ms). */
  readonly at: number;
}

/** The JSON kept with each alert: what a reviewer needs to act on it. */
export interface AlertDetail {
  readonly energy: number;
  readonly uncertainty: number | null;
  readonly responseTime: { readonly label: string; readonly maxMinutes: number | null };
  readonly steps: readonly string[];
  readonly saliency: readonly { feature: string; value: number; contribution: number }[];
  readonly malicious: (Triage['malicious'] & { readonly indicators: readonly string[] }) | null;
}

/** Built-in labels (they cannot be overridden by a scorer's labels), then the scorer's own. */
export function alertLabels(
  record: ScoredRecord,
  t: Triage,
  ctx: Pick<AlertContext, 'source' | 'model'>,
): Record<string, string> {
  const labels: Record<string, string> = { ...(record.labels ?? {}) };
  labels.source = ctx.source;
  labels.model = `${ctx.model.name}@${ctx.model.version}`;
  labels.band = t.band;
  labels.action = t.action;
  if (record.patientId !== null) labels.patient = record.patientId;
  else delete labels.patient;
  return labels;
}

/** Routes an alert of `band` takes: in order, the first match unless it says `continue`. */
export function matchRoutes(routes: readonly ResolvedRoute[], band: string): ResolvedRoute[] {
  const out: ResolvedRoute[] = [];
  for (const r of routes) {
    if (!(r.bands as readonly string[]).includes(band)) continue;
    out.push(r);
    if (!r.continue) break;
  }
  return out;
}

/** The group an alert joins on a route: the values of the route's `groupBy` labels. */
export function groupOf(route: ResolvedRoute, labels: Readonly<Record<string, string>>) {
  const groupLabels: Record<string, string> = {};
  for (const name of route.groupBy) groupLabels[name] = labels[name] ?? '';
  const key = route.groupBy.map((n) => `${n}=${JSON.stringify(groupLabels[n])}`).join(',');
  return { groupKey: key, groupLabels };
}

/**
 * The store commit for one scored batch: a score per record (normal ones too), an alert per
 * record at or above the minimum band with one delivery per sink of each route it takes.
 * A non-finite energy is stored as an `invalid` score, never as an alert or a silent skip.
 */
export function buildCommit(
  records: readonly ScoredRecord[],
  watermark: string | null,
  ctx: AlertContext,
): { commit: CommitInput; invalid: number } {
  const scores: ScoreInput[] = [];
  const alerts: AlertInput[] = [];
  let invalid = 0;
  for (const r of records) {
    if (!Number.isFinite(r.energy)) {
      invalid++;
      scores.push({ recordId: r.recordId, energy: null, band: 'invalid', occurredAt: r.occurredAt });
      continue;
    }
    const t = triage(r.energy, {
      detectedAt: ctx.at,
      maliciousProbability: r.malicious?.probability ?? null,
      maliciousThreshold: ctx.maliciousThreshold,
    });
    scores.push({ recordId: r.recordId, energy: r.energy, band: t.band, occurredAt: r.occurredAt });
    if (t.rank < ctx.minRank) continue;
    const labels = alertLabels(r, t, ctx);
    const detail: AlertDetail = {
      energy: r.energy,
      uncertainty: r.uncertainty ?? null,
      responseTime: { label: t.responseTime.label, maxMinutes: t.responseTime.maxMinutes },
      steps: t.steps,
      saliency: (r.saliency ?? []).map((s) => ({
        feature: s.feature,
        value: s.value,
        contribution: s.contribution,
      })),
      malicious: t.malicious ? { ...t.malicious, indicators: r.malicious?.indicators ?? [] } : null,
    };
    alerts.push({
      recordId: r.recordId,
      subject: r.patientId,
      energy: r.energy,
      severity: t.severity,
      band: t.band,
      bandRank: t.rank,
      action: t.action,
      tier: t.tier,
      maliciousProbability: t.malicious?.probability ?? null,
      responseLabel: t.responseTime.label,
      deadlineAt: t.deadlineAt,
      occurredAt: r.occurredAt,
      labels,
      detail,
      deliveries: matchRoutes(ctx.routes, t.band).flatMap((route) => {
        const g = groupOf(route, labels);
        return route.sinks.map((sink) => ({ sink, route: route.name, ...g }));
      }),
    });
  }
  return { commit: { source: ctx.source, model: ctx.model, at: ctx.at, watermark, scores, alerts }, invalid };
}
