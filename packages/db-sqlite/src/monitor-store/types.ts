import { z } from 'zod';

/** Review states of an alert; only `open` alerts repeat and inhibit. */
export const ALERT_STATES = ['open', 'acknowledged', 'resolved', 'false_positive'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** `firing`: the first notice of an alert revision; `repeat`: a reminder for alerts still open. */
export const NOTIFICATION_KINDS = ['firing', 'repeat'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const NOTIFICATION_STATUSES = ['pending', 'delivered', 'dead'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * `pending`: not yet in a notification; `batched`: in one not yet delivered; `delivered`;
 * `inhibited`: suppressed by a more severe open alert; `superseded`: replaced by an escalation
 * before it was sent; `dead`: its notification gave up.
 */
export const DELIVERY_STATUSES = [
  'pending',
  'batched',
  'delivered',
  'inhibited',
  'superseded',
  'dead',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Names of sources, sinks, routes and models: they appear in keys and file names. */
export const StoreNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a name of letters, digits, _ . -');
const epochMs = z.number().int().nonnegative();
const finite = z.number().refine(Number.isFinite, 'a finite number');
const labels = z.record(z.string(), z.string());

export const ScoreInputSchema = z.strictObject({
  recordId: z.string().min(1),
  /** Null when the model produced no usable value (NaN, ±Infinity); `band` then says why. */
  energy: finite.nullable(),
  band: z.string().min(1),
  occurredAt: epochMs.nullable(),
});
export type ScoreInput = z.input<typeof ScoreInputSchema>;

export const DeliveryTargetSchema = z.strictObject({
  sink: StoreNameSchema,
  route: StoreNameSchema,
  /** Deliveries with the same sink, route and group key go out together in one notification. */
  groupKey: z.string(),
  groupLabels: labels,
});
export type DeliveryTarget = z.input<typeof DeliveryTargetSchema>;

export const AlertInputSchema = z.strictObject({
  recordId: z.string().min(1),
  /** The entity alerts inhibit on (a patient): never logged, shown only where allowed. */
  subject: z.string().nullable(),
  energy: finite,
  severity: z.number().min(0).max(3),
  band: z.string().min(1),
  /** Higher is more severe; a re-score escalates an alert only to a higher rank. */
  bandRank: z.number().int(),
  action: z.string().min(1),
  tier: z.string().nullable(),
  maliciousProbability: z.number().min(0).max(1).nullable(),
  responseLabel: z.string(),
  deadlineAt: epochMs.nullable(),
  occurredAt: epochMs.nullable(),
  labels,
  /** Anything JSON the reader of the alert needs: features, saliency, recommended steps. */
  detail: z.unknown(),
  deliveries: z.array(DeliveryTargetSchema),
});
export type AlertInput = z.input<typeof AlertInputSchema>;

export const CommitInputSchema = z.strictObject({
  source: StoreNameSchema,
  model: z.strictObject({ name: StoreNameSchema, version: z.string().min(1).max(128) }),
  /** The time of the commit (ms since the epoch): detection and scoring time. */
  at: epochMs,
  /** The source cursor after this batch; null leaves it unchanged. */
  watermark: z.string().min(1).nullable(),
  scores: z.array(ScoreInputSchema),
  alerts: z.array(AlertInputSchema),
});
export type CommitInput = z.input<typeof CommitInputSchema>;

export interface CommitResult {
  readonly scored: number;
  readonly alertsCreated: number;
  readonly alertsEscalated: number;
  /** Alerts whose key existed at the same or a more severe band: nothing queued (idempotency). */
  readonly alertsUnchanged: number;
  readonly deliveriesQueued: number;
  /** Alerts created, per band. */
  readonly bandsCreated: Readonly<Record<string, number>>;
  /** Alerts escalated, per (new) band. */
  readonly bandsEscalated: Readonly<Record<string, number>>;
}

export interface StoredAlert {
  readonly id: number;
  /** `source/record/model@version`, the idempotency key a receiver dedupes on. */
  readonly key: string;
  readonly source: string;
  readonly recordId: string;
  readonly model: { readonly name: string; readonly version: string };
  readonly subject: string | null;
  readonly energy: number;
  readonly severity: number;
  readonly band: string;
  readonly bandRank: number;
  readonly action: string;
  readonly tier: string | null;
  readonly maliciousProbability: number | null;
  readonly responseLabel: string;
  readonly deadlineAt: number | null;
  readonly occurredAt: number | null;
  readonly detectedAt: number;
  readonly updatedAt: number;
  readonly revision: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly detail: unknown;
  readonly state: AlertState;
  readonly stateAt: number | null;
  readonly stateBy: string | null;
  readonly stateNote: string | null;
}

export interface StoredScore {
  readonly source: string;
  readonly recordId: string;
  readonly model: { readonly name: string; readonly version: string };
  readonly energy: number | null;
  readonly band: string;
  readonly occurredAt: number | null;
  readonly scoredAt: number;
}

export interface PendingGroup {
  readonly sink: string;
  readonly route: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly pending: number;
  /** When the oldest pending delivery of the group was queued. */
  readonly firstQueuedAt: number;
  /** When the group's last notification to this sink was formed (null: never). */
  readonly lastNotifiedAt: number | null;
}

export interface RepeatableGroup {
  readonly sink: string;
  readonly route: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  /** Open alerts of the group already delivered to this sink. */
  readonly open: number;
  readonly lastNotifiedAt: number;
}

export interface StoredNotification {
  readonly id: string;
  readonly sink: string;
  readonly route: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly kind: NotificationKind;
  readonly status: NotificationStatus;
  readonly createdAt: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly deliveredAt: number | null;
  /** The message as frozen when the notification was formed: every retry sends exactly this. */
  readonly payload: unknown;
}

export interface FormNotificationInput {
  /** A fresh unique id (the idempotency key of the message). */
  readonly id: string;
  readonly sink: string;
  readonly route: string;
  readonly groupKey: string;
  readonly at: number;
  /** Members for which this returns true are marked `inhibited` and left out. */
  readonly isInhibited?: (alert: StoredAlert) => boolean;
  /** The message for these members, stored with the notification (JSON). */
  readonly build: (alerts: readonly StoredAlert[], notification: NotificationHeader) => unknown;
}

export interface NotificationHeader {
  readonly id: string;
  readonly sink: string;
  readonly route: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly kind: NotificationKind;
  readonly createdAt: number;
}

export interface AttemptFailure {
  readonly at: number;
  readonly error: string;
  /** When to try again; ignored when `dead`. */
  readonly nextAttemptAt: number;
  /** Give up: the notification and its deliveries become `dead` (kept, shown by health). */
  readonly dead?: boolean;
}

export interface SinkState {
  readonly sink: string;
  readonly consecutiveFailures: number;
  readonly lastAttemptAt: number | null;
  readonly lastSuccessAt: number | null;
  readonly lastFailureAt: number | null;
  readonly lastError: string | null;
}

export interface SinkBacklog {
  readonly sink: string;
  /** Deliveries waiting to be grouped into a notification. */
  readonly queued: number;
  /** Notifications formed but not yet delivered (waiting for their next attempt). */
  readonly pending: number;
  readonly dead: number;
  /** Creation time of the oldest undelivered delivery or notification (null: nothing waiting). */
  readonly oldestAt: number | null;
  /** Earliest next attempt of a pending notification. */
  readonly nextAttemptAt: number | null;
}

/** Scores of one time bucket and band (the dashboard's energy timeline). */
export interface EnergyBucket {
  /** Start of the bucket (ms since the epoch, a multiple of the bucket size). */
  readonly bucketStart: number;
  readonly band: string;
  readonly records: number;
  /** Null when every record of the bucket was stored as invalid. */
  readonly maxEnergy: number | null;
  readonly meanEnergy: number | null;
}

export interface AuditEntry {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly alertId: number | null;
  readonly detail: unknown;
}

export const AlertStateChangeSchema = z.strictObject({
  state: z.enum(ALERT_STATES),
  actor: z.string().min(1).max(200),
  at: epochMs,
  note: z.string().max(10_000).nullable().default(null),
});
export type AlertStateChange = z.input<typeof AlertStateChangeSchema>;

/** The stream of a source's live changes (its change cursor); backfills plan ranges in streams of their own. */
export const CHANGES_STREAM = 'changes';

export const PlanRangeInputSchema = z.strictObject({
  /** The range's id (the scoring job's id): unique across the store. */
  id: z.string().min(1).max(2_000),
  source: StoreNameSchema,
  /** `changes`, or a backfill window's stream. */
  stream: z.string().min(1).max(500),
  /** The stream's cursor before this range (null: its very beginning). */
  start: z.string().min(1).max(500).nullable(),
  /** The cursor after it (null when the source gives none). */
  end: z.string().min(1).max(500).nullable(),
  ids: z.array(z.string().min(1)).min(1).max(100_000),
  at: epochMs,
});
export type PlanRangeInput = z.input<typeof PlanRangeInputSchema>;

/** One planned range of the distributed mode's ledger. */
export interface StoredRange {
  readonly id: string;
  readonly source: string;
  readonly stream: string;
  /** Position in its stream (1, 2, …): ranges are contiguous in this order. */
  readonly seq: number;
  readonly start: string | null;
  readonly end: string | null;
  readonly ids: readonly string[];
  readonly createdAt: number;
  /** Null while open (not yet committed). */
  readonly committedAt: number | null;
  /** Records scored by its commit. */
  readonly scored: number | null;
  /** Commit attempts: more than 1 means duplicates were absorbed. */
  readonly commits: number;
}

/**
 * `created`: the range is new and the stream's cursor moved to its end; `existing`: a range
 * already starts there (a retried or duplicated plan): that one is returned, nothing changes;
 * `conflict`: the stream's cursor is elsewhere (another planner went on), nothing changes.
 */
export interface PlanRangeResult {
  readonly status: 'created' | 'existing' | 'conflict';
  readonly range: StoredRange | null;
  /** The stream's cursor after the call. */
  readonly cursor: string | null;
}

export interface RangeCommitResult extends CommitResult {
  /** The range was committed before: nothing was written (the commit attempt is counted). */
  readonly duplicate: boolean;
}

/** Where one stream of one source stands. */
export interface StreamSummary {
  readonly source: string;
  readonly stream: string;
  /** How far the stream has been split into ranges. */
  readonly cursor: string | null;
  readonly ranges: number;
  readonly open: number;
  /** Records in its ranges, and how many of them committed ranges scored. */
  readonly records: number;
  readonly scored: number;
  /** Commit attempts of already committed ranges, absorbed without writing. */
  readonly duplicateCommits: number;
  readonly oldestOpenAt: number | null;
}
