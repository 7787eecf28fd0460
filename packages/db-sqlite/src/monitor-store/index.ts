/**
 * `@anomalia/db-sqlite/monitor-store`: the durable state of `anomalia-monitor` (scores, alerts with
 * idempotent keys, the delivery outbox, source watermarks, sink state, the audit log) in one
 * SQLite file, so the monitor app itself never touches a database driver.
 */
export { MONITOR_META_TABLE, MONITOR_STORE_DDL, MONITOR_STORE_VERSION } from './schema';
export {
  alertKey,
  MonitorStore,
  type MonitorStoreOptions,
  NotAMonitorStoreError,
  openMonitorStore,
} from './store';
export {
  ALERT_STATES,
  type AlertInput,
  AlertInputSchema,
  type AlertState,
  type AlertStateChange,
  AlertStateChangeSchema,
  type AttemptFailure,
  type AuditEntry,
  CHANGES_STREAM,
  type CommitInput,
  CommitInputSchema,
  type CommitResult,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  type DeliveryTarget,
  DeliveryTargetSchema,
  type EnergyBucket,
  type FormNotificationInput,
  NOTIFICATION_KINDS,
  NOTIFICATION_STATUSES,
  type NotificationHeader,
  type NotificationKind,
  type NotificationStatus,
  type PendingGroup,
  type PlanRangeInput,
  PlanRangeInputSchema,
  type PlanRangeResult,
  type RangeCommitResult,
  type RepeatableGroup,
  type ScoreInput,
  ScoreInputSchema,
  type SinkBacklog,
  type SinkState,
  type StoredAlert,
  type StoredNotification,
  type StoredRange,
  type StoredScore,
  StoreNameSchema,
  type StreamSummary,
} from './types';
