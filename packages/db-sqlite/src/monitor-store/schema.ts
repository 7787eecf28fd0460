/**
 * The monitor's own state store: what it scored, the alerts it raised, what it owes each sink and
 * what people did about it. One SQLite file, separate from any source database (a source is only
 * ever opened read-only; the store refuses to open a file that is not one of its own).
 *
 * - `scores`: one row per scored record and model (normal ones too: the daily report counts them).
 * - `alerts`: one row per idempotent key (source, record, model name, model version); a re-score
 *   in a more severe band escalates it (new `revision`), anything else leaves it alone.
 * - `deliveries`: the outbox. One row per alert revision per sink and route, written in the same
 *   transaction as the alert, before any sink is tried.
 * - `notifications`: what is actually sent to a sink: a group of deliveries frozen before the first
 *   attempt (so a retry after a crash resends exactly the same message under the same id), with
 *   attempts, the next attempt and the last error. `notification_alerts` lists its members.
 * - `sink_state`: consecutive failures and last success / failure per sink, for health.
 * - `watermarks`: the source cursor, advanced in the same transaction as the scores and alerts.
 * - `audit`: every human action on an alert (who, when, what).
 * - `ranges` and `range_cursors` (version 2): the distributed mode's ledger. A range is one
 *   scoring job's worth of records (a source cursor interval, or a page of a backfill window)
 *   with its ids, planned once per cursor position and committed at most once, so a retried or
 *   duplicated job never writes twice; `range_cursors` is how far each stream was split.
 */
export const MONITOR_STORE_VERSION = 2;

/** The table that marks a file as a monitor state store (and holds its schema version). */
export const MONITOR_META_TABLE = 'monitor_meta';

/** What version 2 added (also run on a version-1 file when it is opened). */
export const MONITOR_STORE_DDL_V2 = `
CREATE TABLE IF NOT EXISTS ranges (
  id           TEXT PRIMARY KEY,
  source       TEXT NOT NULL,
  stream       TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  start_cursor TEXT NOT NULL,
  end_cursor   TEXT,
  ids          TEXT NOT NULL,
  records      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  committed_at INTEGER,
  scored       INTEGER,
  commits      INTEGER NOT NULL DEFAULT 0,
  UNIQUE (source, stream, start_cursor),
  UNIQUE (source, stream, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS ranges_open ON ranges (source, stream, committed_at, seq);
CREATE INDEX IF NOT EXISTS ranges_pending ON ranges (committed_at, created_at);

CREATE TABLE IF NOT EXISTS range_cursors (
  source     TEXT NOT NULL,
  stream     TEXT NOT NULL,
  cursor     TEXT,
  seq        INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (source, stream)
) STRICT, WITHOUT ROWID;
`;

export const MONITOR_STORE_DDL = `
CREATE TABLE ${MONITOR_META_TABLE} (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE watermarks (
  source     TEXT PRIMARY KEY,
  watermark  TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE scores (
  source        TEXT NOT NULL,
  record_id     TEXT NOT NULL,
  model_name    TEXT NOT NULL,
  model_version TEXT NOT NULL,
  energy        REAL,
  band          TEXT NOT NULL,
  occurred_at   INTEGER,
  scored_at     INTEGER NOT NULL,
  event_at      INTEGER NOT NULL,
  PRIMARY KEY (source, record_id, model_name, model_version)
) STRICT, WITHOUT ROWID;
CREATE INDEX scores_event_at ON scores (event_at);

CREATE TABLE alerts (
  id                    INTEGER PRIMARY KEY,
  alert_key             TEXT NOT NULL UNIQUE,
  source                TEXT NOT NULL,
  record_id             TEXT NOT NULL,
  model_name            TEXT NOT NULL,
  model_version         TEXT NOT NULL,
  subject               TEXT,
  energy                REAL NOT NULL,
  severity              REAL NOT NULL,
  band                  TEXT NOT NULL,
  band_rank             INTEGER NOT NULL,
  action                TEXT NOT NULL,
  tier                  TEXT,
  malicious_probability REAL,
  response_label        TEXT NOT NULL,
  deadline_at           INTEGER,
  occurred_at           INTEGER,
  detected_at           INTEGER NOT NULL,
  event_at              INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  revision              INTEGER NOT NULL DEFAULT 1,
  labels                TEXT NOT NULL,
  detail                TEXT NOT NULL,
  state                 TEXT NOT NULL DEFAULT 'open',
  state_at              INTEGER,
  state_by              TEXT,
  state_note            TEXT
) STRICT;
CREATE INDEX alerts_event_at ON alerts (event_at);
CREATE INDEX alerts_band_state ON alerts (band, state);

CREATE TABLE notifications (
  id              TEXT PRIMARY KEY,
  sink            TEXT NOT NULL,
  route           TEXT NOT NULL,
  group_key       TEXT NOT NULL,
  group_labels    TEXT NOT NULL,
  kind            TEXT NOT NULL,
  status          TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  delivered_at    INTEGER,
  payload         TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_due ON notifications (sink, status, next_attempt_at);
CREATE INDEX notifications_group ON notifications (sink, route, group_key, created_at);

CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY,
  alert_id        INTEGER NOT NULL REFERENCES alerts (id),
  revision        INTEGER NOT NULL,
  sink            TEXT NOT NULL,
  route           TEXT NOT NULL,
  group_key       TEXT NOT NULL,
  group_labels    TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  created_at      INTEGER NOT NULL,
  notification_id TEXT REFERENCES notifications (id),
  UNIQUE (alert_id, revision, sink, route)
) STRICT;
CREATE INDEX deliveries_pending ON deliveries (sink, status, route, group_key);
CREATE INDEX deliveries_notification ON deliveries (notification_id);

CREATE TABLE notification_alerts (
  notification_id TEXT NOT NULL REFERENCES notifications (id),
  alert_id        INTEGER NOT NULL REFERENCES alerts (id),
  revision        INTEGER NOT NULL,
  PRIMARY KEY (notification_id, alert_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE sink_state (
  sink                 TEXT PRIMARY KEY,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_attempt_at      INTEGER,
  last_success_at      INTEGER,
  last_failure_at      INTEGER,
  last_error           TEXT
) STRICT;

CREATE TABLE audit (
  id       INTEGER PRIMARY KEY,
  at       INTEGER NOT NULL,
  actor    TEXT NOT NULL,
  action   TEXT NOT NULL,
  alert_id INTEGER REFERENCES alerts (id),
  detail   TEXT NOT NULL
) STRICT;
CREATE INDEX audit_alert ON audit (alert_id);
${MONITOR_STORE_DDL_V2}`;
