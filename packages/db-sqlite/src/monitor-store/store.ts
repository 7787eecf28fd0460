import { existsSync, statSync } from 'node:fs';
import { parseJsonText, parseWith, ValidationError } from '@anomalia/core';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { MONITOR_META_TABLE, MONITOR_STORE_DDL, MONITOR_STORE_VERSION } from './schema';
import {
  ALERT_STATES,
  type AlertStateChange,
  AlertStateChangeSchema,
  type AttemptFailure,
  type AuditEntry,
  type CommitInput,
  CommitInputSchema,
  type CommitResult,
  type FormNotificationInput,
  type NotificationHeader,
  type NotificationKind,
  type PendingGroup,
  type RepeatableGroup,
  type SinkBacklog,
  type SinkState,
  type StoredAlert,
  type StoredNotification,
  type StoredScore,
} from './types';

const STORE_KIND = 'anomalia-monitor-state';

export interface MonitorStoreOptions {
  /**
   * `full` (default): every commit is on disk before it returns, even across a power cut.
   * `normal`: survives a process crash (kill -9) but a power cut may lose the last commits.
   */
  readonly synchronous?: 'full' | 'normal';
}

/** The file is not a monitor state store (e.g. a source database was given as the state path). */
export class NotAMonitorStoreError extends Error {
  override readonly name = 'NotAMonitorStoreError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: not an Anomalia monitor state store (${reason}); refusing to write to it`);
  }
}

/** `source/record/model@version`, each part URI-encoded so the key splits back unambiguously. */
export function alertKey(source: string, recordId: string, modelName: string, modelVersion: string): string {
  const e = encodeURIComponent;
  return `${e(source)}/${e(recordId)}/${e(modelName)}@${e(modelVersion)}`;
}

/**
 * Opens (creating when missing) the monitor's state store. A file that exists but is not a monitor
 * store is refused, so pointing the state path at a source database cannot write to it.
 */
export function openMonitorStore(path: string, options: MonitorStoreOptions = {}): MonitorStore {
  if (typeof path !== 'string' || path.trim() === '' || path === ':memory:' || path.startsWith('file:'))
    throw new ValidationError('state.path', 'a plain file path (not :memory: or a URI)', path);
  let fresh = !existsSync(path) || statSync(path).size === 0;
  // An existing file is checked through a read-only handle first: not even a pragma is written to
  // a file that turns out not to be ours.
  if (!fresh) {
    let probe: Database.Database | undefined;
    try {
      probe = new Database(path, { readonly: true, fileMustExist: true });
      // No schema object at all: a store killed before its first commit (or an empty file SQLite
      // made), which holds nothing to protect; it is initialised like a new one.
      fresh = probe.prepare('SELECT count(*) FROM sqlite_master').pluck().get() === 0;
      if (!fresh) checkStore(probe, path);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_NOTADB')
        throw new NotAMonitorStoreError(path, 'not an SQLite file');
      throw error;
    } finally {
      probe?.close();
    }
  }
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    if (fresh) initialise(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return new MonitorStore(db, path);
}

function initialise(db: Database.Database): void {
  db.transaction(() => {
    db.exec(MONITOR_STORE_DDL);
    const put = db.prepare(`INSERT INTO ${MONITOR_META_TABLE} (key, value) VALUES (?, ?)`);
    put.run('kind', STORE_KIND);
    put.run('schema_version', String(MONITOR_STORE_VERSION));
    put.run('created_at', new Date().toISOString());
  })();
}

function checkStore(db: Database.Database, path: string): void {
  const hasMeta = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
    .get(MONITOR_META_TABLE);
  if (!hasMeta) throw new NotAMonitorStoreError(path, `no ${MONITOR_META_TABLE} table`);
  const meta = new Map(
    (
      db.prepare(`SELECT key, value FROM ${MONITOR_META_TABLE}`).all() as { key: string; value: string }[]
    ).map((r) => [r.key, r.value]),
  );
  if (meta.get('kind') !== STORE_KIND) throw new NotAMonitorStoreError(path, `kind is ${meta.get('kind')}`);
  const version = Number(meta.get('schema_version'));
  if (!(version <= MONITOR_STORE_VERSION))
    throw new NotAMonitorStoreError(
      path,
      `schema version ${meta.get('schema_version')} is newer than this release's ${MONITOR_STORE_VERSION}`,
    );
}

interface AlertRow {
  id: number;
  alert_key: string;
  source: string;
  record_id: string;
  model_name: string;
  model_version: string;
  subject: string | null;
  energy: number;
  severity: number;
  band: string;
  band_rank: number;
  action: string;
  tier: string | null;
  malicious_probability: number | null;
  response_label: string;
  deadline_at: number | null;
  occurred_at: number | null;
  detected_at: number;
  updated_at: number;
  revision: number;
  labels: string;
  detail: string;
  state: string;
  state_at: number | null;
  state_by: string | null;
  state_note: string | null;
}

interface NotificationRow {
  id: string;
  sink: string;
  route: string;
  group_key: string;
  group_labels: string;
  kind: string;
  status: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  delivered_at: number | null;
  payload: string;
}

const LabelsSchema = z.record(z.string(), z.string());
const StateSchema = z.enum(ALERT_STATES);
const KindSchema = z.enum(['firing', 'repeat']);
const StatusSchema = z.enum(['pending', 'delivered', 'dead']);

const labelsOf = (text: string, field: string) => parseWith(LabelsSchema, parseJsonText(text, field), field);

function toAlert(r: AlertRow): StoredAlert {
  return {
    id: r.id,
    key: r.alert_key,
    source: r.source,
    recordId: r.record_id,
    model: { name: r.model_name, version: r.model_version },
    subject: r.subject,
    energy: r.energy,
    severity: r.severity,
    band: r.band,
    bandRank: r.band_rank,
    action: r.action,
    tier: r.tier,
    maliciousProbability: r.malicious_probability,
    responseLabel: r.response_label,
    deadlineAt: r.deadline_at,
    occurredAt: r.occurred_at,
    detectedAt: r.detected_at,
    updatedAt: r.updated_at,
    revision: r.revision,
    labels: labelsOf(r.labels, `alerts[${r.id}].labels`),
    detail: parseJsonText(r.detail, `alerts[${r.id}].detail`),
    state: parseWith(StateSchema, r.state, `alerts[${r.id}].state`),
    stateAt: r.state_at,
    stateBy: r.state_by,
    stateNote: r.state_note,
  };
}

function toNotification(r: NotificationRow): StoredNotification {
  return {
    id: r.id,
    sink: r.sink,
    route: r.route,
    groupKey: r.group_key,
    groupLabels: labelsOf(r.group_labels, `notifications[${r.id}].group_labels`),
    kind: parseWith(KindSchema, r.kind, `notifications[${r.id}].kind`),
    status: parseWith(StatusSchema, r.status, `notifications[${r.id}].status`),
    createdAt: r.created_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
    payload: parseJsonText(r.payload, `notifications[${r.id}].payload`),
  };
}

const json = (value: unknown) => JSON.stringify(value ?? null);

function prepareStatements(db: Database.Database) {
  return {
    watermark: db.prepare(`SELECT watermark FROM watermarks WHERE source = ?`).pluck(),
    putWatermark: db.prepare(
      `INSERT INTO watermarks (source, watermark, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (source) DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at`,
    ),
    putScore: db.prepare(
      `INSERT INTO scores (source, record_id, model_name, model_version, energy, band, occurred_at, scored_at, event_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET energy = excluded.energy, band = excluded.band,
         occurred_at = excluded.occurred_at, scored_at = excluded.scored_at, event_at = excluded.event_at`,
    ),
    alertHead: db.prepare(`SELECT id, band_rank, revision FROM alerts WHERE alert_key = ?`),
    insertAlert: db.prepare(
      `INSERT INTO alerts (alert_key, source, record_id, model_name, model_version, subject, energy, severity,
         band, band_rank, action, tier, malicious_probability, response_label, deadline_at, occurred_at,
         detected_at, event_at, updated_at, labels, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    escalateAlert: db.prepare(
      `UPDATE alerts SET subject = ?, energy = ?, severity = ?, band = ?, band_rank = ?, action = ?, tier = ?,
         malicious_probability = ?, response_label = ?, deadline_at = ?, occurred_at = ?, event_at = ?,
         updated_at = ?, labels = ?, detail = ?, revision = revision + 1,
         state = 'open', state_at = NULL, state_by = NULL, state_note = NULL
       WHERE id = ?`,
    ),
    supersede: db.prepare(
      `UPDATE deliveries SET status = 'superseded' WHERE alert_id = ? AND status = 'pending' AND revision < ?`,
    ),
    queueDelivery: db.prepare(
      `INSERT OR IGNORE INTO deliveries (alert_id, revision, sink, route, group_key, group_labels, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    alertById: db.prepare(`SELECT * FROM alerts WHERE id = ?`),
    alertByKey: db.prepare(`SELECT * FROM alerts WHERE alert_key = ?`),
    pendingGroups: db.prepare(
      `SELECT d.route, d.group_key, MIN(d.group_labels) AS group_labels, COUNT(*) AS pending,
         MIN(d.created_at) AS first_queued_at,
         (SELECT MAX(n.created_at) FROM notifications n
           WHERE n.sink = d.sink AND n.route = d.route AND n.group_key = d.group_key) AS last_notified_at
       FROM deliveries d WHERE d.sink = ? AND d.status = 'pending'
       GROUP BY d.route, d.group_key ORDER BY first_queued_at`,
    ),
    pendingMembers: db.prepare(
      `SELECT d.id AS delivery_id, d.group_labels AS delivery_labels, a.* FROM deliveries d
       JOIN alerts a ON a.id = d.alert_id
       WHERE d.sink = ? AND d.route = ? AND d.group_key = ? AND d.status = 'pending'
       ORDER BY a.band_rank DESC, a.detected_at, a.id`,
    ),
    repeatableGroups: db.prepare(
      `SELECT d.route, d.group_key, MIN(d.group_labels) AS group_labels, COUNT(DISTINCT a.id) AS open,
         (SELECT MAX(n.created_at) FROM notifications n
           WHERE n.sink = d.sink AND n.route = d.route AND n.group_key = d.group_key) AS last_notified_at
       FROM deliveries d JOIN alerts a ON a.id = d.alert_id AND a.revision = d.revision
       WHERE d.sink = ? AND d.status = 'delivered' AND a.state = 'open'
         AND d.route IN (SELECT value FROM json_each(?))
         AND NOT EXISTS (SELECT 1 FROM notifications p WHERE p.sink = d.sink AND p.route = d.route
           AND p.group_key = d.group_key AND p.status = 'pending')
         AND NOT EXISTS (SELECT 1 FROM deliveries q WHERE q.sink = d.sink AND q.route = d.route
           AND q.group_key = d.group_key AND q.status = 'pending')
       GROUP BY d.route, d.group_key`,
    ),
    repeatMembers: db.prepare(
      `SELECT DISTINCT a.* FROM deliveries d JOIN alerts a ON a.id = d.alert_id AND a.revision = d.revision
       WHERE d.sink = ? AND d.route = ? AND d.group_key = ? AND d.status = 'delivered' AND a.state = 'open'
       ORDER BY a.band_rank DESC, a.detected_at, a.id`,
    ),
    groupLabels: db.prepare(
      `SELECT group_labels FROM deliveries WHERE sink = ? AND route = ? AND group_key = ? LIMIT 1`,
    ),
    inhibit: db.prepare(`UPDATE deliveries SET status = 'inhibited' WHERE id = ?`),
    batch: db.prepare(`UPDATE deliveries SET status = 'batched', notification_id = ? WHERE id = ?`),
    insertNotification: db.prepare(
      `INSERT INTO notifications (id, sink, route, group_key, group_labels, kind, status, created_at,
         next_attempt_at, payload) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
    ),
    member: db.prepare(
      `INSERT INTO notification_alerts (notification_id, alert_id, revision) VALUES (?, ?, ?)`,
    ),
    notification: db.prepare(`SELECT * FROM notifications WHERE id = ?`),
    due: db.prepare(
      `SELECT * FROM notifications WHERE sink = ? AND status = 'pending' AND next_attempt_at <= ?
       ORDER BY next_attempt_at, created_at, id LIMIT ?`,
    ),
    nextAttempt: db
      .prepare(`SELECT MIN(next_attempt_at) FROM notifications WHERE sink = ? AND status = 'pending'`)
      .pluck(),
    members: db.prepare(
      `SELECT a.* FROM notification_alerts m JOIN alerts a ON a.id = m.alert_id
       WHERE m.notification_id = ? ORDER BY a.band_rank DESC, a.detected_at, a.id`,
    ),
    delivered: db.prepare(
      `UPDATE notifications SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL
       WHERE id = ? AND status = 'pending'`,
    ),
    deliveriesDone: db.prepare(`UPDATE deliveries SET status = ? WHERE notification_id = ?`),
    failed: db.prepare(
      `UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?
       WHERE id = ? AND status = 'pending'`,
    ),
    sinkSuccess: db.prepare(
      `INSERT INTO sink_state (sink, consecutive_failures, last_attempt_at, last_success_at) VALUES (?, 0, ?, ?)
       ON CONFLICT (sink) DO UPDATE SET consecutive_failures = 0, last_attempt_at = excluded.last_attempt_at,
         last_success_at = excluded.last_success_at`,
    ),
    sinkFailure: db.prepare(
      `INSERT INTO sink_state (sink, consecutive_failures, last_attempt_at, last_failure_at, last_error)
       VALUES (?, 1, ?, ?, ?)
       ON CONFLICT (sink) DO UPDATE SET consecutive_failures = consecutive_failures + 1,
         last_attempt_at = excluded.last_attempt_at, last_failure_at = excluded.last_failure_at,
         last_error = excluded.last_error`,
    ),
    openAlerts: db.prepare(
      `SELECT * FROM alerts WHERE state = 'open' AND band IN (SELECT value FROM json_each(?)) ORDER BY id`,
    ),
    openLabels: db.prepare(
      `SELECT id, band, labels FROM alerts WHERE state = 'open' AND band IN (SELECT value FROM json_each(?)) ORDER BY id`,
    ),
    setState: db.prepare(
      `UPDATE alerts SET state = ?, state_at = ?, state_by = ?, state_note = ? WHERE id = ?`,
    ),
    audit: db.prepare(`INSERT INTO audit (at, actor, action, alert_id, detail) VALUES (?, ?, ?, ?, ?)`),
    scoresBetween: db.prepare(
      `SELECT * FROM scores WHERE event_at >= ? AND event_at < ? ORDER BY event_at, record_id`,
    ),
    alertsBetween: db.prepare(
      `SELECT * FROM alerts WHERE event_at >= ? AND event_at < ? ORDER BY event_at, id`,
    ),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/**
 * The monitor's durable state. Every method runs synchronously in its own transaction, so each
 * either happens completely or not at all, whatever kills the process.
 */
export class MonitorStore {
  private readonly q: Statements;

  /** Use `openMonitorStore`. */
  constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    this.q = prepareStatements(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /**
   * Runs `fn` in one transaction (store calls inside it join it): one disk sync for many small
   * writes, e.g. forming the notifications of every due group at once.
   */
  inTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** The source cursor persisted by the last commit for `source` (null: never polled). */
  watermark(source: string): string | null {
    return (this.q.watermark.get(source) as string | undefined) ?? null;
  }

  /**
   * Writes a scored batch in one transaction: its scores, its alerts (new ones inserted, re-scores
   * in a more severe band escalated, the rest left alone), every alert's deliveries to its sinks,
   * and the source watermark. Nothing is sent here: sinks only ever see what this committed.
   */
  commitScored(input: CommitInput): CommitResult {
    const c = parseWith(CommitInputSchema, input, 'commit');
    const q = this.q;
    return this.db.transaction((): CommitResult => {
      for (const s of c.scores) {
        q.putScore.run(
          c.source,
          s.recordId,
          c.model.name,
          c.model.version,
          s.energy,
          s.band,
          s.occurredAt,
          c.at,
          s.occurredAt ?? c.at,
        );
      }
      let created = 0;
      let escalated = 0;
      let unchanged = 0;
      let queued = 0;
      for (const a of c.alerts) {
        const key = alertKey(c.source, a.recordId, c.model.name, c.model.version);
        const head = q.alertHead.get(key) as { id: number; band_rank: number; revision: number } | undefined;
        const eventAt = a.occurredAt ?? c.at;
        let id: number;
        let revision: number;
        if (!head) {
          id = Number(
            q.insertAlert.run(
              key,
              c.source,
              a.recordId,
              c.model.name,
              c.model.version,
              a.subject,
              a.energy,
              a.severity,
              a.band,
              a.bandRank,
              a.action,
              a.tier,
              a.maliciousProbability,
              a.responseLabel,
              a.deadlineAt,
              a.occurredAt,
              c.at,
              eventAt,
              c.at,
              json(a.labels),
              json(a.detail),
            ).lastInsertRowid,
          );
          revision = 1;
          created++;
        } else if (a.bandRank > head.band_rank) {
          id = head.id;
          revision = head.revision + 1;
          q.escalateAlert.run(
            a.subject,
            a.energy,
            a.severity,
            a.band,
            a.bandRank,
            a.action,
            a.tier,
            a.maliciousProbability,
            a.responseLabel,
            a.deadlineAt,
            a.occurredAt,
            eventAt,
            c.at,
            json(a.labels),
            json(a.detail),
            id,
          );
          q.supersede.run(id, revision);
          escalated++;
        } else {
          unchanged++;
          continue;
        }
        for (const d of a.deliveries) {
          queued += q.queueDelivery.run(
            id,
            revision,
            d.sink,
            d.route,
            d.groupKey,
            json(d.groupLabels),
            c.at,
          ).changes;
        }
      }
      if (c.watermark !== null) q.putWatermark.run(c.source, c.watermark, c.at);
      return {
        scored: c.scores.length,
        alertsCreated: created,
        alertsEscalated: escalated,
        alertsUnchanged: unchanged,
        deliveriesQueued: queued,
      };
    })();
  }

  alert(id: number): StoredAlert | null {
    const row = this.q.alertById.get(id) as AlertRow | undefined;
    return row ? toAlert(row) : null;
  }

  alertByKey(key: string): StoredAlert | null {
    const row = this.q.alertByKey.get(key) as AlertRow | undefined;
    return row ? toAlert(row) : null;
  }

  /** Groups with deliveries not yet in a notification, oldest first. */
  pendingGroups(sink: string): PendingGroup[] {
    return (
      this.q.pendingGroups.all(sink) as {
        route: string;
        group_key: string;
        group_labels: string;
        pending: number;
        first_queued_at: number;
        last_notified_at: number | null;
      }[]
    ).map((r) => ({
      sink,
      route: r.route,
      groupKey: r.group_key,
      groupLabels: labelsOf(r.group_labels, 'deliveries.group_labels'),
      pending: r.pending,
      firstQueuedAt: r.first_queued_at,
      lastNotifiedAt: r.last_notified_at,
    }));
  }

  /**
   * Freezes a group's pending deliveries into one notification (its members and payload are fixed
   * from here on, so every retry sends the same message under the same id). Members the
   * `isInhibited` predicate rejects are marked `inhibited`. Null when nothing is left to send.
   */
  formNotification(input: FormNotificationInput): StoredNotification | null {
    return this.db.transaction(() => {
      const rows = this.q.pendingMembers.all(input.sink, input.route, input.groupKey) as (AlertRow & {
        delivery_id: number;
        delivery_labels: string;
      })[];
      if (rows.length === 0) return null;
      const kept: { deliveryId: number; alert: StoredAlert }[] = [];
      for (const row of rows) {
        const alert = toAlert(row);
        if (input.isInhibited?.(alert)) this.q.inhibit.run(row.delivery_id);
        else kept.push({ deliveryId: row.delivery_id, alert });
      }
      if (kept.length === 0) return null;
      const labels = rows[0]!.delivery_labels;
      const header = this.header(input, 'firing', labels);
      this.insertNotification(
        header,
        labels,
        input.build(
          kept.map((k) => k.alert),
          header,
        ),
      );
      for (const k of kept) {
        this.q.batch.run(input.id, k.deliveryId);
        this.q.member.run(input.id, k.alert.id, k.alert.revision);
      }
      return this.notification(input.id);
    })();
  }

  /** Groups whose open alerts were delivered to `sink` and may be due a reminder (only `routes`). */
  repeatableGroups(sink: string, routes: readonly string[]): RepeatableGroup[] {
    if (routes.length === 0) return [];
    return (
      this.q.repeatableGroups.all(sink, JSON.stringify(routes)) as {
        route: string;
        group_key: string;
        group_labels: string;
        open: number;
        last_notified_at: number;
      }[]
    ).map((r) => ({
      sink,
      route: r.route,
      groupKey: r.group_key,
      groupLabels: labelsOf(r.group_labels, 'deliveries.group_labels'),
      open: r.open,
      lastNotifiedAt: r.last_notified_at,
    }));
  }

  /** A reminder of the group's still-open, already delivered alerts (null when none is left). */
  formRepeatNotification(input: FormNotificationInput): StoredNotification | null {
    return this.db.transaction(() => {
      const alerts = (this.q.repeatMembers.all(input.sink, input.route, input.groupKey) as AlertRow[])
        .map(toAlert)
        .filter((a) => !input.isInhibited?.(a));
      if (alerts.length === 0) return null;
      const labels = (
        this.q.groupLabels.get(input.sink, input.route, input.groupKey) as { group_labels: string }
      ).group_labels;
      const header = this.header(input, 'repeat', labels);
      this.insertNotification(header, labels, input.build(alerts, header));
      for (const a of alerts) this.q.member.run(input.id, a.id, a.revision);
      return this.notification(input.id);
    })();
  }

  private header(input: FormNotificationInput, kind: NotificationKind, labels: string): NotificationHeader {
    return {
      id: input.id,
      sink: input.sink,
      route: input.route,
      groupKey: input.groupKey,
      groupLabels: labelsOf(labels, 'deliveries.group_labels'),
      kind,
      createdAt: input.at,
    };
  }

  private insertNotification(h: NotificationHeader, labels: string, payload: unknown): void {
    this.q.insertNotification.run(
      h.id,
      h.sink,
      h.route,
      h.groupKey,
      labels,
      h.kind,
      h.createdAt,
      h.createdAt,
      json(payload),
    );
  }

  notification(id: string): StoredNotification | null {
    const row = this.q.notification.get(id) as NotificationRow | undefined;
    return row ? toNotification(row) : null;
  }

  /** Pending notifications of `sink` whose next attempt is due at `now`, oldest first. */
  dueNotifications(sink: string, now: number, limit = 100): StoredNotification[] {
    return (this.q.due.all(sink, now, limit) as NotificationRow[]).map(toNotification);
  }

  /** The earliest next attempt of a pending notification of `sink` (null: none pending). */
  nextAttemptAt(sink: string): number | null {
    return (this.q.nextAttempt.get(sink) as number | null) ?? null;
  }

  /** The alerts a notification carries. */
  notificationAlerts(id: string): StoredAlert[] {
    return (this.q.members.all(id) as AlertRow[]).map(toAlert);
  }

  /** Records a successful send. False when the notification was not pending (already settled). */
  markDelivered(id: string, at: number): boolean {
    return this.db.transaction(() => {
      const n = this.notification(id);
      if (!n || this.q.delivered.run(at, id).changes === 0) return false;
      this.q.deliveriesDone.run('delivered', id);
      this.q.sinkSuccess.run(n.sink, at, at);
      return true;
    })();
  }

  /** Records a failed attempt and when to try again (or gives up when `dead`). */
  markFailed(id: string, failure: AttemptFailure): boolean {
    return this.db.transaction(() => {
      const n = this.notification(id);
      const status = failure.dead ? 'dead' : 'pending';
      if (!n || this.q.failed.run(status, failure.error, failure.nextAttemptAt, id).changes === 0)
        return false;
      if (failure.dead) this.q.deliveriesDone.run('dead', id);
      this.q.sinkFailure.run(n.sink, failure.at, failure.at, failure.error);
      return true;
    })();
  }

  /** Id, band and labels of the open alerts in `bands`: all inhibition needs, without the detail. */
  openAlertLabels(
    bands: readonly string[],
  ): { id: number; band: string; labels: Readonly<Record<string, string>> }[] {
    return (
      this.q.openLabels.all(JSON.stringify(bands)) as { id: number; band: string; labels: string }[]
    ).map((r) => ({
      id: r.id,
      band: r.band,
      labels: labelsOf(r.labels, `alerts[${r.id}].labels`),
    }));
  }

  /** Open alerts in the given bands (the sources of inhibition). */
  openAlerts(bands: readonly string[]): StoredAlert[] {
    return (this.q.openAlerts.all(JSON.stringify(bands)) as AlertRow[]).map(toAlert);
  }

  sinkStates(): SinkState[] {
    return (
      this.db.prepare(`SELECT * FROM sink_state ORDER BY sink`).all() as {
        sink: string;
        consecutive_failures: number;
        last_attempt_at: number | null;
        last_success_at: number | null;
        last_failure_at: number | null;
        last_error: string | null;
      }[]
    ).map((r) => ({
      sink: r.sink,
      consecutiveFailures: r.consecutive_failures,
      lastAttemptAt: r.last_attempt_at,
      lastSuccessAt: r.last_success_at,
      lastFailureAt: r.last_failure_at,
      lastError: r.last_error,
    }));
  }

  /** What each sink still owes: queued deliveries, pending and dead notifications. */
  backlog(): SinkBacklog[] {
    const out = new Map<
      string,
      { queued: number; pending: number; dead: number; oldestAt: number | null; nextAttemptAt: number | null }
    >();
    const entry = (sink: string) => {
      const e = out.get(sink) ?? { queued: 0, pending: 0, dead: 0, oldestAt: null, nextAttemptAt: null };
      out.set(sink, e);
      return e;
    };
    const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
    for (const r of this.db
      .prepare(
        `SELECT sink, COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending' GROUP BY sink`,
      )
      .all() as { sink: string; n: number; oldest: number }[]) {
      const e = entry(r.sink);
      e.queued = r.n;
      e.oldestAt = minOf(e.oldestAt, r.oldest);
    }
    for (const r of this.db
      .prepare(
        `SELECT sink, status, COUNT(*) AS n, MIN(created_at) AS oldest, MIN(next_attempt_at) AS next
         FROM notifications WHERE status IN ('pending', 'dead') GROUP BY sink, status`,
      )
      .all() as { sink: string; status: string; n: number; oldest: number; next: number }[]) {
      const e = entry(r.sink);
      if (r.status === 'dead') e.dead = r.n;
      else {
        e.pending = r.n;
        e.oldestAt = minOf(e.oldestAt, r.oldest);
        e.nextAttemptAt = r.next;
      }
    }
    return [...out.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([sink, e]) => ({ sink, ...e }));
  }

  /** Changes an alert's review state and records who did it, when, in the audit log. */
  setAlertState(alertId: number, change: AlertStateChange): StoredAlert {
    const c = parseWith(AlertStateChangeSchema, change, 'change');
    return this.db.transaction(() => {
      const before = this.alert(alertId);
      if (!before) throw new ValidationError('alertId', 'the id of an existing alert', alertId);
      this.q.setState.run(c.state, c.at, c.actor, c.note, alertId);
      this.q.audit.run(
        c.at,
        c.actor,
        `state:${c.state}`,
        alertId,
        json({ from: before.state, note: c.note }),
      );
      return this.alert(alertId)!;
    })();
  }

  /** Appends an action to the audit log (e.g. a report generated, a sink re-enabled). */
  recordAction(entry: {
    at: number;
    actor: string;
    action: string;
    alertId?: number | null;
    detail?: unknown;
  }): void {
    this.q.audit.run(entry.at, entry.actor, entry.action, entry.alertId ?? null, json(entry.detail ?? {}));
  }

  auditLog(options: { alertId?: number; limit?: number } = {}): AuditEntry[] {
    const rows = (
      options.alertId === undefined
        ? this.db.prepare(`SELECT * FROM audit ORDER BY id DESC LIMIT ?`).all(options.limit ?? 100)
        : this.db
            .prepare(`SELECT * FROM audit WHERE alert_id = ? ORDER BY id DESC LIMIT ?`)
            .all(options.alertId, options.limit ?? 100)
    ) as { id: number; at: number; actor: string; action: string; alert_id: number | null; detail: string }[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      alertId: r.alert_id,
      detail: parseJsonText(r.detail, `audit[${r.id}].detail`),
    }));
  }

  /** Scores whose record time (or, when unknown, scoring time) is in [from, to). */
  scoresBetween(from: number, to: number): StoredScore[] {
    return (
      this.q.scoresBetween.all(from, to) as {
        source: string;
        record_id: string;
        model_name: string;
        model_version: string;
        energy: number | null;
        band: string;
        occurred_at: number | null;
        scored_at: number;
      }[]
    ).map((r) => ({
      source: r.source,
      recordId: r.record_id,
      model: { name: r.model_name, version: r.model_version },
      energy: r.energy,
      band: r.band,
      occurredAt: r.occurred_at,
      scoredAt: r.scored_at,
    }));
  }

  /** Alerts whose record time (or detection time) is in [from, to). */
  alertsBetween(from: number, to: number): StoredAlert[] {
    return (this.q.alertsBetween.all(from, to) as AlertRow[]).map(toAlert);
  }

  /** Row counts, for health and tests. */
  counts(): { scores: number; alerts: number; deliveries: number; notifications: number; audit: number } {
    const n = (table: string) => this.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
    return {
      scores: n('scores'),
      alerts: n('alerts'),
      deliveries: n('deliveries'),
      notifications: n('notifications'),
      audit: n('audit'),
    };
  }
}
