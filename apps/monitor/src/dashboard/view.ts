import type { StoredAlert } from '@anomalia/db-sqlite/monitor-store';
import { z } from 'zod';

/** Labels the queue shows as they are (the built-ins band, action, model, source have fields of their own). */
const BUILT_IN_LABELS = new Set(['band', 'action', 'model', 'source', 'patient']);

const DetailSchema = z.object({
  uncertainty: z.number().nullable().optional(),
  steps: z.array(z.string()).optional(),
  saliency: z
    .array(z.object({ feature: z.string(), value: z.number(), contribution: z.number() }))
    .optional(),
  malicious: z
    .object({
      probability: z.number(),
      suspected: z.boolean(),
      level: z.string(),
      message: z.string(),
      indicators: z.array(z.string()).optional(),
    })
    .nullable()
    .optional(),
});

/** One alert as the dashboard's queue shows it. */
export interface QueueItem {
  readonly id: number;
  readonly key: string;
  readonly revision: number;
  readonly source: string;
  /** The treatment (TrackTreatment id). */
  readonly recordId: string;
  /** Only for an authenticated user; otherwise null with `identifiersHidden`. */
  readonly patientId: string | null;
  readonly identifiersHidden: boolean;
  readonly model: string;
  readonly band: string;
  readonly bandRank: number;
  readonly severity: number;
  readonly energy: number;
  readonly uncertainty: number | null;
  readonly action: string;
  readonly tier: string | null;
  readonly responseLabel: string;
  readonly deadlineAt: number | null;
  readonly occurredAt: number | null;
  readonly detectedAt: number;
  readonly updatedAt: number;
  readonly state: string;
  readonly stateAt: number | null;
  readonly stateBy: string | null;
  readonly stateNote: string | null;
  /** The scorer's labels (field, machine, site, course …), the patient removed. */
  readonly labels: Readonly<Record<string, string>>;
  readonly saliency: readonly { feature: string; value: number; contribution: number }[];
  readonly steps: readonly string[];
  readonly malicious: {
    readonly probability: number;
    readonly suspected: boolean;
    readonly level: string;
    readonly message: string;
    readonly indicators: readonly string[];
  } | null;
  /** False when the stored detail could not be read (shown as such, never guessed). */
  readonly detailReadable: boolean;
}

/** A stored alert as the page may see it: patient identifiers only when `identifiers`. */
export function queueItem(a: StoredAlert, identifiers: boolean): QueueItem {
  const parsed = DetailSchema.safeParse(a.detail);
  const d = parsed.success ? parsed.data : {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.labels)) if (!BUILT_IN_LABELS.has(k)) labels[k] = v;
  return {
    id: a.id,
    key: a.key,
    revision: a.revision,
    source: a.source,
    recordId: a.recordId,
    patientId: identifiers ? (a.subject ?? a.labels.patient ?? null) : null,
    identifiersHidden: !identifiers && (a.subject !== null || a.labels.patient !== undefined),
    model: `${a.model.name}@${a.model.version}`,
    band: a.band,
    bandRank: a.bandRank,
    severity: a.severity,
    energy: a.energy,
    uncertainty: d.uncertainty ?? null,
    action: a.action,
    tier: a.tier,
    responseLabel: a.responseLabel,
    deadlineAt: a.deadlineAt,
    occurredAt: a.occurredAt,
    detectedAt: a.detectedAt,
    updatedAt: a.updatedAt,
    state: a.state,
    stateAt: a.stateAt,
    stateBy: a.stateBy,
    stateNote: a.stateNote,
    labels,
    saliency: d.saliency ?? [],
    steps: d.steps ?? [],
    malicious: d.malicious ? { ...d.malicious, indicators: d.malicious.indicators ?? [] } : null,
    detailReadable: parsed.success,
  };
}
