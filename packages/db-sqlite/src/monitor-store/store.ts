import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { parseJsonText, parseWith, ValidationError } from '@anomalia/core';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { MONITOR_META_TABLE, MONITOR_STORE_DDL, MONITOR_STORE_DDL_V2, MONITOR_STORE_VERSION } from './schema';
import {
  ALERT_STATES,
  type AlertState,
  type AlertStateChange,
  AlertStateChangeSchema,
  type AttemptFailure,
  type AuditEntry,
  CHANGES_STREAM,
  type CommitInput,
  CommitInputSchema,
  type CommitResult,
  type EnergyBucket,
  type FormNotificationInput,
  type NotificationHeader,
  type NotificationKind,
  type PendingGroup,
  type PlanRangeInput,
  PlanRangeInputSchema,
  type PlanRangeResult,
  type RangeCommitResult,
  type RepeatableGroup,
  type SinkBacklog,
  type SinkState,
  type StoredAlert,
  type StoredNotification,
  type StoredRange,
  type StoredScore,
  type StreamSummary,
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
    // First: processes opening one new store together wait for each other's locks, not fail.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    enableWal(db);
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    const created = fresh && initialise(db);
    if (!created) {
      // A file found empty may have been initialised by another process since: check it as any other.
      if (fresh) checkStore(db, path);
      migrate(db);
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return new MonitorStore(db, path);
}

const BUSY_TIMEOUT_MS = 5000;

/**
 * Puts the file in WAL mode (which persists in the file). The switch needs an exclusive lock, and
 * SQLite answers SQLITE_BUSY at once, without the busy handler, while another connection holds a
 * lock on the file (another process opening the same new store): retried for the busy timeout.
 */
function enableWal(db: Database.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      if (db.pragma('journal_mode = WAL', { simple: true }) === 'wal') return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`could not put ${db.name} in WAL mode: the file stayed locked`);
    Atomics.wait(pause, 0, 0, 10);
  }
}

/**
 * Creates the schema of an empty file; false when the file is no longer empty. The check and the
 * creation share one IMMEDIATE transaction: workers opening the same new store together (a
 * distributed monitor starting) serialise on its write lock, and the later ones find the schema.
 */
function initialise(db: Database.Database): boolean {
  return db
    .transaction(() => {
      if (db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() !== 0) return false;
      db.exec(MONITOR_STORE_DDL);
      const put = db.prepare(`INSERT INTO ${MONITOR_META_TABLE} (key, value) VALUES (?, ?)`);
      put.run('kind', STORE_KIND);
      put.run('schema_version', String(MONITOR_STORE_VERSION));
      put.run('created_at', new Date().toISOString());
      put.run('store_id', randomUUID());
      return true;
    })
    .immediate();
}

/** Brings an older store up to this release's schema (version 1 → 2: the range ledger; a store id). */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = Number(
      db.prepare(`SELECT value FROM ${MONITOR_META_TABLE} WHERE key = 'schema_version'`).pluck().get(),
    );
    if (version < 2) db.exec(MONITOR_STORE_DDL_V2);
    if (version < MONITOR_STORE_VERSION)
      db.prepare(`UPDATE ${MONITOR_META_TABLE} SET value = ? WHERE key = 'schema_version'`).run(
        String(MONITOR_STORE_VERSION),
      );
    db.prepare(`INSERT OR IGNORE INTO ${MONITOR_META_TABLE} (key, value) VALUES ('store_id', ?)`).run(
      randomUUID(),
    );
  }).immediate();
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

interface RangeRow {
  id: string;
  source: string;
  stream: string;
  seq: number;
  start_cursor: string;
  end_cursor: string | null;
  ids: string;
  records: number;
  created_at: number;
  committed_at: number | null;
  scored: number | null;
  commits: number;
}

const IdsSchema = z.array(z.string());

function toRange(r: RangeRow): StoredRange {
  return {
    id: r.id,
    source: r.source,
    stream: r.stream,
    seq: r.seq,
    start: r.start_cursor === '' ? null : r.start_cursor,
    end: r.end_cursor,
    ids: parseWith(IdsSchema, parseJsonText(r.ids, `ranges[${r.id}].ids`), `ranges[${r.id}].ids`),
    createdAt: r.created_at,
    committedAt: r.committed_at,
    scored: r.scored,
    commits: r.commits,
  };
}

const json = (value: unknown) => JSON.stringify(value ?? null);

function prepareStatements(db: Database.Database) {
  return {
    watermark: db.prepare(`SELECT watermark FROM watermarks WHERE source = ?`).pluck(),
    cursor: db.prepare(`SELECT cursor, seq FROM range_cursors WHERE source = ? AND stream = ?`),
    putCursor: db.prepare(
      `INSERT INTO range_cursors (source, stream, cursor, seq, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (source, stream) DO UPDATE SET cursor = excluded.cursor, seq = excluded.seq,
         updated_at = excluded.updated_at`,
    ),
    rangeById: db.prepare(`SELECT * FROM ranges WHERE id = ?`),
    rangeByStart: db.prepare(`SELECT * FROM ranges WHERE source = ? AND stream = ? AND start_cursor = ?`),
    insertRange: db.prepare(
      `INSERT INTO ranges (id, source, stream, seq, start_cursor, end_cursor, ids, records, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    countCommit: db.prepare(`UPDATE ranges SET commits = commits + 1 WHERE id = ?`),
    markCommitted: db.prepare(`UPDATE ranges SET committed_at = ?, scored = ? WHERE id = ?`),
    lowestOpen: db
      .prepare(`SELECT MIN(seq) FROM ranges WHERE source = ? AND stream = ? AND committed_at IS NULL`)
      .pluck(),
    endBefore: db
      .prepare(
        `SELECT end_cursor FROM ranges WHERE source = ? AND stream = ? AND seq < ? ORDER BY seq DESC LIMIT 1`,
      )
      .pluck(),
    openRanges: db.prepare(
      `SELECT * FROM ranges WHERE source = ? AND stream = ? AND committed_at IS NULL AND created_at < ?
       ORDER BY seq LIMIT ?`,
    ),
    streamSummaries: db.prepare(
      `SELECT c.source, c.stream, c.cursor, COUNT(r.id) AS ranges,
         SUM(r.id IS NOT NULL AND r.committed_at IS NULL) AS open, SUM(r.records) AS records, SUM(r.scored) AS scored,
         SUM(CASE WHEN r.commits > 1 THEN r.commits - 1 ELSE 0 END) AS duplicates,
         MIN(CASE WHEN r.committed_at IS NULL THEN r.created_at END) AS oldest_open
       FROM range_cursors c LEFT JOIN ranges r ON r.source = c.source AND r.stream = c.stream
       WHERE c.stream LIKE ? GROUP BY c.source, c.stream ORDER BY c.source, c.stream`,
    ),
    openCount: db
      .prepare(
        `SELECT COUNT(*) FROM ranges WHERE source = ? AND stream >= ? AND stream < ? AND committed_at IS NULL`,
      )
      .pluck(),
    staleRanges: db.prepare(
      `SELECT * FROM ranges WHERE committed_at IS NULL AND created_at < ? ORDER BY created_at, seq LIMIT ?`,
    ),
    pruneRanges: db.prepare(`DELETE FROM ranges WHERE committed_at IS NOT NULL AND committed_at < ?`),
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
    reviewQueue: db.prepare(
      `SELECT * FROM alerts WHERE state IN (SELECT value FROM json_each(?))
       ORDER BY band_rank DESC, deadline_at IS NULL, deadline_at, detected_at, id LIMIT ?`,
    ),
    alertCounts: db.prepare(
      `SELECT band, state, COUNT(*) AS n FROM alerts GROUP BY band, state ORDER BY band, state`,
    ),
    energyTimeline: db.prepare(
      `SELECT (event_at / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS bucket, band, COUNT(*) AS n, MAX(energy) AS max_energy, AVG(energy) AS mean_energy
       FROM scores WHERE event_at >= ? AND event_at < ? GROUP BY bucket, band ORDER BY bucket, band`,
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
    return this.db.transaction(fn).immediate();
  }

  /** The source cursor persisted by the last commit for `source` (null: never polled). */
  watermark(source: string): string | null {
    return (this.q.watermark.get(source) as string | undefined) ?? null;
  }

  /** This store's identity (random, fixed when it was created): workers check they share one store. */
  storeId(): string {
    return this.db
      .prepare(`SELECT value FROM ${MONITOR_META_TABLE} WHERE key = 'store_id'`)
      .pluck()
      .get() as string;
  }

  /**
   * How far `stream` of `source` has been split into ranges. Before its first range, the
   * changes stream starts at the source's watermark (so a store the single-process monitor wrote
   * continues where it stopped) and any other stream at its beginning (null).
   */
  streamCursor(source: string, stream: string): string | null {
    const row = this.q.cursor.get(source, stream) as { cursor: string | null } | undefined;
    if (row) return row.cursor;
    return stream === CHANGES_STREAM ? this.watermark(source) : null;
  }

  /**
   * Records the next range of a stream: only when the stream's cursor is at `start` (then the
   * cursor moves to `end`). A second plan from the same start (a retried or duplicated job)
   * returns the range planned first, unchanged, so the same records always form the same range.
   */
  planRange(input: PlanRangeInput): PlanRangeResult {
    const r = parseWith(PlanRangeInputSchema, input, 'range');
    if (r.end !== null && r.end === r.start)
      throw new ValidationError(
        'range.end',
        'a cursor past range.start (the source returned changes without moving its cursor)',
        r.end,
      );
    return this.db
      .transaction((): PlanRangeResult => {
        const existing = this.q.rangeByStart.get(r.source, r.stream, r.start ?? '') as RangeRow | undefined;
        const cursor = this.streamCursor(r.source, r.stream);
        if (existing) return { status: 'existing', range: toRange(existing), cursor };
        if ((cursor ?? '') !== (r.start ?? '')) return { status: 'conflict', range: null, cursor };
        const seq = ((this.q.cursor.get(r.source, r.stream) as { seq: number } | undefined)?.seq ?? 0) + 1;
        this.q.insertRange.run(
          r.id,
          r.source,
          r.stream,
          seq,
          r.start ?? '',
          r.end,
          json(r.ids),
          r.ids.length,
          r.at,
        );
        this.q.putCursor.run(r.source, r.stream, r.end, seq, r.at);
        return { status: 'created', range: this.range(r.id), cursor: r.end };
      })
      .immediate();
  }

  /**
   * Moves a stream's cursor from `from` to `to` without a range (the source reported no change
   * but a later safe point). On the changes stream with no open range, the watermark follows.
   * False when the cursor was not at `from`.
   */
  advanceCursor(source: string, stream: string, from: string | null, to: string, at: number): boolean {
    return this.db
      .transaction((): boolean => {
        if ((this.streamCursor(source, stream) ?? '') !== (from ?? '')) return false;
        const seq = (this.q.cursor.get(source, stream) as { seq: number } | undefined)?.seq ?? 0;
        this.q.putCursor.run(source, stream, to, seq, at);
        if (stream === CHANGES_STREAM && this.q.lowestOpen.get(source, stream) == null)
          this.q.putWatermark.run(source, to, at);
        return true;
      })
      .immediate();
  }

  range(id: string): StoredRange | null {
    const row = this.q.rangeById.get(id) as RangeRow | undefined;
    return row ? toRange(row) : null;
  }

  /**
   * Commits a planned range's scores and alerts (as `commitScored`, in one transaction) and marks
   * it committed; on the changes stream the source watermark moves to the end of the last range
   * before the first one still open. A range committed before is not written again (the attempt
   * is counted). Every record must be one of the range's ids.
   */
  commitRange(rangeId: string, input: CommitInput): RangeCommitResult {
    const c = parseWith(CommitInputSchema, input, 'commit');
    return this.db
      .transaction((): RangeCommitResult => {
        const row = this.q.rangeById.get(rangeId) as RangeRow | undefined;
        if (!row) throw new ValidationError('rangeId', 'the id of a planned range', rangeId);
        this.q.countCommit.run(rangeId);
        if (row.committed_at !== null)
          return {
            duplicate: true,
            scored: 0,
            alertsCreated: 0,
            alertsEscalated: 0,
            alertsUnchanged: 0,
            deliveriesQueued: 0,
            bandsCreated: {},
            bandsEscalated: {},
          };
        const range = toRange(row);
        if (c.source !== range.source)
          throw new ValidationError('commit.source', `the range's source "${range.source}"`, c.source);
        const ids = new Set(range.ids);
        for (const [i, s] of c.scores.entries())
          if (!ids.has(s.recordId))
            throw new ValidationError(
              `commit.scores[${i}].recordId`,
              `one of range ${rangeId}'s ids`,
              s.recordId,
            );
        for (const [i, a] of c.alerts.entries())
          if (!ids.has(a.recordId))
            throw new ValidationError(
              `commit.alerts[${i}].recordId`,
              `one of range ${rangeId}'s ids`,
              a.recordId,
            );
        const result = this.writeScored(c);
        this.q.markCommitted.run(c.at, c.scores.length, rangeId);
        if (range.stream === CHANGES_STREAM) {
          const open = this.q.lowestOpen.get(range.source, range.stream) as number | null;
          const watermark =
            open == null
              ? this.streamCursor(range.source, range.stream)
              : ((this.q.endBefore.get(range.source, range.stream, open) as string | null | undefined) ??
                null);
          if (watermark !== null) this.q.putWatermark.run(range.source, watermark, c.at);
        }
        return { ...result, duplicate: false };
      })
      .immediate();
  }

  /** Open ranges of a stream in order (`createdBefore`: only those planned before that time). */
  openRanges(
    source: string,
    stream: string,
    options: { createdBefore?: number; limit?: number } = {},
  ): StoredRange[] {
    return (
      this.q.openRanges.all(
        source,
        stream,
        options.createdBefore ?? Number.MAX_SAFE_INTEGER,
        options.limit ?? 1_000,
      ) as RangeRow[]
    ).map(toRange);
  }

  /** How many ranges of `source` in streams starting with `streamPrefix` are open (planned, not committed). */
  openRangeCount(source: string, streamPrefix = ''): number {
    return this.q.openCount.get(source, streamPrefix, `${streamPrefix}\u{10FFFF}`) as number;
  }

  /** Open ranges of every source and stream planned before `createdBefore`, oldest first (recovery sweeps). */
  staleRanges(createdBefore: number, limit = 1_000): StoredRange[] {
    return (this.q.staleRanges.all(createdBefore, limit) as RangeRow[]).map(toRange);
  }

  /** Per source and stream (only streams starting with `streamPrefix`, when given): cursor, ranges, records. */
  streamSummaries(streamPrefix = ''): StreamSummary[] {
    return (
      this.q.streamSummaries.all(`${streamPrefix}%`) as {
        source: string;
        stream: string;
        cursor: string | null;
        ranges: number | null;
        open: number | null;
        records: number | null;
        scored: number | null;
        duplicates: number | null;
        oldest_open: number | null;
      }[]
    ).map((r) => ({
      source: r.source,
      stream: r.stream,
      cursor: r.cursor,
      ranges: r.ranges ?? 0,
      open: r.open ?? 0,
      records: r.records ?? 0,
      scored: r.scored ?? 0,
      duplicateCommits: r.duplicates ?? 0,
      oldestOpenAt: r.oldest_open,
    }));
  }

  /** Forgets committed ranges committed before `before` (their cursors stay); returns how many. */
  pruneRanges(before: number): number {
    return this.db.transaction(() => this.q.pruneRanges.run(before).changes).immediate();
  }

  /**
   * Writes a scored batch in one transaction: its scores, its alerts (new ones inserted, re-scores
   * in a more severe band escalated, the rest left alone), every alert's deliveries to its sinks,
   * and the source watermark. Nothing is sent here: sinks only ever see what this committed.
   */
  commitScored(input: CommitInput): CommitResult {
    const c = parseWith(CommitInputSchema, input, 'commit');
    return this.db
      .transaction((): CommitResult => {
        const result = this.writeScored(c);
        if (c.watermark !== null) this.q.putWatermark.run(c.source, c.watermark, c.at);
        return result;
      })
      .immediate();
  }

  /** Scores, alerts and deliveries of a validated commit (inside the caller's transaction). */
  private writeScored(c: ReturnType<typeof CommitInputSchema.parse>): CommitResult {
    const q = this.q;
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
    const bandsCreated: Record<string, number> = {};
    const bandsEscalated: Record<string, number> = {};
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
        bandsCreated[a.band] = (bandsCreated[a.band] ?? 0) + 1;
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
        bandsEscalated[a.band] = (bandsEscalated[a.band] ?? 0) + 1;
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
    return {
      scored: c.scores.length,
      alertsCreated: created,
      alertsEscalated: escalated,
      alertsUnchanged: unchanged,
      deliveriesQueued: queued,
      bandsCreated,
      bandsEscalated,
    };
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
    return this.db
      .transaction(() => {
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
      })
      .immediate();
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
    return this.db
      .transaction(() => {
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
      })
      .immediate();
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
    return this.db
      .transaction(() => {
        const n = this.notification(id);
        if (!n || this.q.delivered.run(at, id).changes === 0) return false;
        this.q.deliveriesDone.run('delivered', id);
        this.q.sinkSuccess.run(n.sink, at, at);
        return true;
      })
      .immediate();
  }

  /** Records a failed attempt and when to try again (or gives up when `dead`). */
  markFailed(id: string, failure: AttemptFailure): boolean {
    return this.db
      .transaction(() => {
        const n = this.notification(id);
        const status = failure.dead ? 'dead' : 'pending';
        if (!n || this.q.failed.run(status, failure.error, failure.nextAttemptAt, id).changes === 0)
          return false;
        if (failure.dead) this.q.deliveriesDone.run('dead', id);
        this.q.sinkFailure.run(n.sink, failure.at, failure.at, failure.error);
        return true;
      })
      .immediate();
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
    return this.db
      .transaction(() => {
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
      })
      .immediate();
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

  /**
   * The review queue: alerts in `states` (default open and acknowledged), most urgent first —
   * by band, then earliest response deadline (none last), then oldest detection.
   */
  reviewQueue(options: { states?: readonly AlertState[]; limit?: number } = {}): StoredAlert[] {
    const states = parseWith(
      z.array(StateSchema).min(1),
      options.states ?? ['open', 'acknowledged'],
      'reviewQueue.states',
    );
    const limit = parseWith(
      z.number().int().min(1).max(100_000),
      options.limit ?? 1_000,
      'reviewQueue.limit',
    );
    return (this.q.reviewQueue.all(JSON.stringify(states), limit) as AlertRow[]).map(toAlert);
  }

  /** How many alerts there are per band and review state (metrics, the dashboard's counters). */
  alertCounts(): { band: string; state: AlertState; alerts: number }[] {
    return (this.q.alertCounts.all() as { band: string; state: string; n: number }[]).map((r) => ({
      band: r.band,
      state: parseWith(StateSchema, r.state, 'alerts.state'),
      alerts: r.n,
    }));
  }

  /**
   * Scores in [from, to) by record time, summed per time bucket of `bucketMs` and band: how many
   * records, their highest and mean energy (records stored as invalid are counted in band
   * `invalid` with null energies). Buckets start at multiples of `bucketMs` since the epoch.
   */
  energyTimeline(from: number, to: number, bucketMs: number): EnergyBucket[] {
    parseWith(z.number().int().positive(), bucketMs, 'energyTimeline.bucketMs');
    return (
      this.q.energyTimeline.all(bucketMs, bucketMs, from, to) as {
        bucket: number;
        band: string;
        n: number;
        max_energy: number | null;
        mean_energy: number | null;
      }[]
    ).map((r) => ({
      bucketStart: r.bucket,
      band: r.band,
      records: r.n,
      maxEnergy: r.max_energy,
      meanEnergy: r.mean_energy,
    }));
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
