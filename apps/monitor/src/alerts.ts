import type { AlertInput, CommitInput, ScoreInput } from '@anomalia/db-sqlite/monitor-store';
import { BAND_THRESHOLDS } from '@anomalia/severity';
import type { ResolvedRoute } from './config/schema';
import {
  type FitAssessment,
  isUnjudged,
  type ModelIdentity,
  type ScoredRecord,
  type UnjudgedRecord,
} from './seam';
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
  /** Store the scores but raise no per-record alert (the model does not fit the source). */
  readonly hold?: boolean;
}

/** The record id of the one alert saying the model does not fit the source. */
export const MODEL_FIT_RECORD = 'model-fit';

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
 * The store commit for one scored batch: a score per judged record (normal ones too), an alert
 * per record at or above the minimum band with one delivery per sink of each route it takes.
 * A non-finite energy is stored as an `invalid` score, never as an alert or a silent skip.
 * Records the model does not judge are counted by reason.
 */
export function buildCommit(
  records: readonly (ScoredRecord | UnjudgedRecord)[],
  watermark: string | null,
  ctx: AlertContext,
): {
  commit: CommitInput & { alerts: AlertInput[] };
  invalid: number;
  notJudged: Record<string, number>;
  /** Records in an alerting band left without an alert because `hold` was set. */
  held: number;
} {
  const scores: ScoreInput[] = [];
  const alerts: AlertInput[] = [];
  const notJudged: Record<string, number> = {};
  let invalid = 0;
  let held = 0;
  for (const r of records) {
    // Counted, not stored: about three records in four of a clinic are beams the model does not
    // judge (QA mode, selected, interrupted), and a row for each would halve the backlog's speed.
    if (isUnjudged(r)) {
      notJudged[r.notJudged] = (notJudged[r.notJudged] ?? 0) + 1;
      continue;
    }
    if (!Number.isFinite(r.energy)) {
      invalid++;
      scores.push({ recordId: r.recordId, energy: null, band: 'invalid', occurredAt: r.occurredAt });
      continue;
    }
    const t = triage(r.energy, {
      detectedAt: ctx.at,
      maliciousProbability: r.malicious?.probability ?? null,
      maliciousThreshold: ctx.maliciousThreshold,
      maliciousOwnEvidence: r.malicious?.ownEvidence ?? true,
    });
    scores.push({ recordId: r.recordId, energy: r.energy, band: t.band, occurredAt: r.occurredAt });
    if (t.rank < ctx.minRank) continue;
    if (ctx.hold) {
      held++;
      continue;
    }
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
  return {
    commit: { source: ctx.source, model: ctx.model, at: ctx.at, watermark, scores, alerts },
    invalid,
    notJudged,
    held,
  };
}

/**
 * The one "model does not fit this database" alert of a model version on a source (its key is
 * `source/model-fit/model@version`, so it is raised once however many batches confirm it): high,
 * review within hours, to every route of the high band. It has no patient: no inhibition applies.
 */
export function modelFitAlert(fit: FitAssessment, ctx: Omit<AlertContext, 'minRank' | 'hold'>): AlertInput {
  const energy = BAND_THRESHOLDS.high;
  const t = triage(energy, { detectedAt: ctx.at });
  const labels: Record<string, string> = {
    source: ctx.source,
    model: `${ctx.model.name}@${ctx.model.version}`,
    band: t.band,
    action: t.action,
    kind: 'model_fit',
  };
  const message = `model ${ctx.model.name}@${ctx.model.version} does not fit the database of source ${ctx.source}: ${fit.reasons.join('; ')}. Its scores there are not findings; per-record alerts are held until it fits (train a model on this database).`;
  return {
    recordId: MODEL_FIT_RECORD,
    subject: null,
    energy,
    severity: t.severity,
    band: t.band,
    bandRank: t.rank,
    action: t.action,
    tier: t.tier,
    maliciousProbability: null,
    responseLabel: t.responseTime.label,
    deadlineAt: t.deadlineAt,
    occurredAt: null,
    labels,
    detail: {
      kind: 'model_fit',
      message,
      fit,
      // Sinks show an alert's steps: the explanation comes first.
      steps: [
        message,
        'Check that the monitor watches the intended database with the intended model',
        'Train and promote a model on this database (anomalia-train with its source), then restart the monitor',
      ],
    },
    deliveries: matchRoutes(ctx.routes, t.band).flatMap((route) => {
      const g = groupOf(route, labels);
      return route.sinks.map((sink) => ({ sink, route: route.name, ...g }));
    }),
  };
}
