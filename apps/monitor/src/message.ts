import { createHash } from 'node:crypto';
import type { NotificationHeader, StoredAlert } from '@anomalia/db-sqlite/monitor-store';
import type { AlertDetail } from './alerts';

export const MESSAGE_SCHEMA = 'anomalia.notification/v1';
export const REDACTED = '[redacted]';

/** One alert as a notification carries it. */
export interface MessageAlert {
  /** `source/record/model@version`: the alert's idempotency key. */
  readonly key: string;
  readonly revision: number;
  /** `key#revision`: dedupe on this to show each alert (and each escalation) once. */
  readonly idempotencyKey: string;
  readonly source: string;
  readonly recordId: string;
  /** Present only when the sink is configured with `patientIdentifiers: include`. */
  readonly patientId?: string | null;
  readonly model: string;
  readonly band: string;
  readonly severity: number;
  readonly energy: number;
  readonly action: string;
  readonly tier: string | null;
  readonly responseTime: string;
  readonly deadline: string | null;
  readonly detectedAt: string;
  readonly occurredAt: string | null;
  readonly uncertainty: number | null;
  readonly malicious: AlertDetail['malicious'];
  readonly topFeatures: AlertDetail['saliency'];
  readonly steps: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** The message a sink delivers: frozen in the store when formed, identical on every retry. */
export interface NotificationMessage {
  readonly schema: typeof MESSAGE_SCHEMA;
  /** The notification's idempotency key (also the `Idempotency-Key` header, the email Message-ID). */
  readonly id: string;
  readonly kind: 'firing' | 'repeat';
  readonly sink: string;
  readonly route: string;
  readonly createdAt: string;
  readonly group: { readonly id: string; readonly labels: Readonly<Record<string, string>> };
  readonly summary: {
    readonly title: string;
    readonly alerts: number;
    readonly worstBand: string;
    readonly action: string;
    readonly earliestDeadline: string | null;
  };
  readonly alerts: readonly MessageAlert[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface MessageOptions {
  readonly patientIdentifiers: 'omit' | 'include';
  /** Saliency entries per alert. */
  readonly topFeatures?: number;
}

/** Builds the message for a group of alerts (most severe first, as the store orders them). */
export function buildMessage(
  alerts: readonly StoredAlert[],
  header: NotificationHeader,
  options: MessageOptions,
): NotificationMessage {
  const include = options.patientIdentifiers === 'include';
  const redact = (labels: Readonly<Record<string, string>>) => {
    const out = { ...labels };
    if ('patient' in out) {
      if (include) return out;
      out.patient = REDACTED;
    }
    return out;
  };
  const items: MessageAlert[] = alerts.map((a) => {
    const d = a.detail as AlertDetail;
    const labels = { ...a.labels };
    delete labels.patient;
    return {
      key: a.key,
      revision: a.revision,
      idempotencyKey: `${a.key}#${a.revision}`,
      source: a.source,
      recordId: a.recordId,
      ...(include ? { patientId: a.subject } : {}),
      model: `${a.model.name}@${a.model.version}`,
      band: a.band,
      severity: a.severity,
      energy: a.energy,
      action: a.action,
      tier: a.tier,
      responseTime: a.responseLabel,
      deadline: iso(a.deadlineAt),
      detectedAt: iso(a.detectedAt)!,
      occurredAt: iso(a.occurredAt),
      uncertainty: d.uncertainty ?? null,
      malicious: d.malicious ?? null,
      topFeatures: (d.saliency ?? []).slice(0, options.topFeatures ?? 5),
      steps: d.steps ?? [],
      labels,
    };
  });
  const worst = alerts[0]!;
  const deadlines = alerts.map((a) => a.deadlineAt).filter((d): d is number => d !== null);
  const groupLabels = redact(header.groupLabels);
  const who = groupLabels.patient === undefined ? '' : ` for patient ${groupLabels.patient}`;
  const n = alerts.length;
  const title =
    `${header.kind === 'repeat' ? 'STILL OPEN: ' : ''}${worst.band.toUpperCase()}: ${n} alert${n === 1 ? '' : 's'}${who}` +
    ` (${worst.action}; respond ${worst.responseLabel})`;
  return {
    schema: MESSAGE_SCHEMA,
    id: header.id,
    kind: header.kind,
    sink: header.sink,
    route: header.route,
    createdAt: iso(header.createdAt)!,
    group: {
      id: createHash('sha256').update(header.groupKey).digest('hex').slice(0, 16),
      labels: groupLabels,
    },
    summary: {
      title,
      alerts: n,
      worstBand: worst.band,
      action: worst.action,
      earliestDeadline: deadlines.length ? iso(Math.min(...deadlines)) : null,
    },
    alerts: items,
  };
}

/** The message as plain text (email body, Slack text, console). */
export function messageText(m: NotificationMessage): string {
  const lines = [m.summary.title, ''];
  if (m.summary.earliestDeadline) lines.push(`Respond by ${m.summary.earliestDeadline}.`, '');
  for (const a of m.alerts) {
    lines.push(
      `- ${a.band.toUpperCase()} ${a.severity.toFixed(2)} · record ${a.recordId} (${a.source})` +
        (a.patientId ? ` · patient ${a.patientId}` : '') +
        ` · ${a.action}, ${a.responseTime}${a.deadline ? ` (by ${a.deadline})` : ''}`,
    );
    // A probability of 0 with no indicator (the courses showed nothing) is not worth a line.
    if (a.malicious && (a.malicious.probability > 0 || a.malicious.indicators.length > 0)) {
      lines.push(
        `  malicious: p=${a.malicious.probability.toFixed(2)} ${a.malicious.level} (${a.malicious.message})` +
          (a.malicious.ownEvidence === false ? ' · the evidence is in another field of the patient' : ''),
      );
      for (const i of a.malicious.indicators) lines.push(`    · ${i}`);
    }
    if (a.topFeatures.length)
      lines.push(
        `  features: ${a.topFeatures.map((f) => `${f.feature}=${formatNumber(f.value)} (${formatNumber(f.contribution)})`).join(', ')}`,
      );
    if (a.steps.length) lines.push(`  steps: ${a.steps.join('; ')}`);
  }
  lines.push('', `id ${m.id} · ${m.kind} · route ${m.route} · ${m.createdAt}`);
  return lines.join('\n');
}

const formatNumber = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(3));
