import { SourceConfigSchema } from '@anomalia/qa-workflow';
import { z } from 'zod';
import { DurationSchema } from './duration';

/**
 * The monitor's configuration: one zod schema is the runtime validation (every error names its
 * key; unknown keys are refused) and the TypeScript type.
 */

export const ALERT_BANDS = ['low', 'medium', 'high', 'critical'] as const;
export type AlertBand = (typeof ALERT_BANDS)[number];

const path = z.string().min(1);
/** Source, sink and route names: they appear in alert keys, notification ids and file names. */
export const NameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a name of letters, digits, _ . -');

/** A secret given inline or, better, as the name of an environment variable that holds it. */
export const SecretSchema = z.union([
  z.string().min(1),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
]);
export type Secret = z.output<typeof SecretSchema>;

const SourceSchema = z.strictObject({
  /** The site's name: part of every alert key, so two databases never share an alert. */
  name: NameSchema.default('default'),
  /**
   * The database, as the train app and the MCP server take it (the source registry of
   * @anomalia/qa-workflow): `{ type: sqlite, path }` (opened read-only) or `{ type: mssql, url }`
   * plus any setting of @anomalia/db-mssql (`isolation`, `passwordEnv`, `pool`, ...); the URL as
   * `{ env: NAME }` keeps it out of the file.
   */
  database: SourceConfigSchema,
});

const PollSchema = z.strictObject({
  /** Time between polls when caught up (a full batch polls again at once). */
  interval: DurationSchema.default(5_000),
  /**
   * On the very first start (no watermark yet), how far back to begin: treatments created in this
   * window are scored first; `all`: every treatment the change cursor holds (a backlog).
   */
  lookback: z.union([z.literal('all'), DurationSchema]).default(86_400_000),
  /**
   * Changed treatments per poll, scoring batch and transaction (at most 10 000: a change cursor's
   * page). Large batches read a field's control points once for all its fractions in the batch.
   */
  batchSize: z.number().int().min(1).max(10_000).default(10_000),
  /** Waits after a failed poll (unreachable database): exponential from `initial` up to `max`. */
  retry: z
    .strictObject({ initial: DurationSchema.default(1_000), max: DurationSchema.default(60_000) })
    .prefault({}),
});

const ModelSchema = z.strictObject({
  /** A promoted model directory (`models/current/<name>`), loaded and verified at start. */
  dir: path,
  /**
   * The feature set the model must have been trained on (`qa74`, `qa74-cohort`): the monitor
   * refuses to start, naming what differs, when the model's features are not exactly it. Absent:
   * the set whose names are the model's.
   */
  featureSet: z.enum(['qa74', 'qa74-cohort']).optional(),
  /** MC-dropout passes per alerting record for an uncertainty (0: off; neural models only). */
  mcDropoutSamples: z.number().int().min(0).max(1_000).default(0),
  /** Features named per alert, the ones that drove its energy most (0: none; neural models only). */
  saliency: z.number().int().min(0).max(20).default(5),
  /**
   * Days of each patient's deliveries read as context for the model's features that compare a
   * record with the previous fraction (default 30). Course features (`qa74-longitudinal`) come
   * from the course watch, whose window is `scoring.longitudinal.historyDays`.
   */
  historyDays: z.number().min(1).max(3650).optional(),
  /**
   * When the source lacks tables the model was trained with: `refuse` to start, or `warn`: run,
   * with the data-mismatch guard reporting that the model does not fit the source.
   */
  missingTables: z.enum(['refuse', 'warn']).default('refuse'),
});

const ScoringSchema = z.strictObject({
  /**
   * The longitudinal checks: every patient's courses (patient × field across fractions) followed
   * as fractions arrive, with CUSUM and trend alarms, and each scored record given its patient's
   * malicious probability from that evidence (seed 001). A record whose probability exceeds
   * `triage.maliciousThreshold` is critical however low its energy.
   */
  longitudinal: z
    .strictObject({
      enabled: z.boolean().default(true),
      /**
       * Days of a newly seen patient's deliveries read to rebuild their courses (after a restart,
       * or in a queue worker): at least a course's length, so its first fraction is the reference.
       * Also the window of a course-feature model's courses, with the checks on or off.
       */
      historyDays: z.number().min(1).max(3650).default(120),
      /** Fractions kept in memory at most; beyond it the courses are rebuilt from the database. */
      maxFractions: z.number().int().min(1_000).max(10_000_000).default(250_000),
    })
    .prefault({}),
});

const GuardSchema = z.strictObject({
  /** Judged records in the rolling window the live features are compared over. */
  window: z.number().int().min(50).max(100_000).default(5_000),
  /**
   * Judged records needed before a verdict on drift: several days of a clinic, so the window
   * holds many patients' plans (a patient's fractions share their field's features, and a
   * morning's worth of records is a few dozen plans). The share of records that would alert (a
   * flood) is judged from 50 on.
   */
  minRecords: z.number().int().min(50).max(100_000).default(1_000),
  /** A feature has shifted when its PSI against the training normals exceeds this. */
  psi: z.number().positive().max(10).default(0.25),
  /**
   * The model does not fit when more than this share of its features has shifted (on the clinic
   * it learnt from, one or two of 87 do; on another clinic, a fifth or more).
   */
  maxShiftedShare: z.number().min(0).max(1).default(0.1),
  /** … or when more than this share of the window's judged records would alert (a flood). */
  maxAlertShare: z.number().min(0).max(1).default(0.3),
  /**
   * While the model does not fit: `hold` (default) stores every score but raises no per-record
   * alert, only the one "model does not fit this database" alert; `alert` carries on alerting.
   */
  onMismatch: z.enum(['hold', 'alert']).default('hold'),
});

const SimulatorSchema = z.strictObject({
  /**
   * The synthetic clinic replayed: the generator's seed and size that `pnpm start` trains on
   * (configs/mosaiq-ebm.yaml, `synthesizeIfMissing`). The sandbox (`source.database.path`) is that
   * clinic generated again, re-dated to end `days + 3` days ago; the simulator then appends the
   * clinic's next `days` days.
   */
  clinic: z
    .strictObject({
      seed: z.number().int().default(7),
      records: z.number().int().min(1_000).max(2_000_000).default(120_000),
    })
    .prefault({}),
  /** New treatments appended per second (every TrackTreatment row: about a quarter are deliveries). */
  rate: z.number().positive().max(1000).default(4),
  /** Share of new deliveries corrupted with a failure mode. */
  corruptionRate: z.number().min(0).max(1).default(0.15),
  /** Failure-mode kinds drawn from (`malicious` once the catalogue has such modes). */
  kinds: z
    .array(z.enum(['accidental', 'malicious']))
    .min(1)
    .default(['accidental']),
  /** Seed of the corruptions (which deliveries, which failure modes). */
  seed: z.number().int().default(1),
  /** Simulated clinic days appended (ending three days ago, so no timestamp is in the future). */
  days: z.number().int().min(1).max(365).default(14),
  /** What was inserted and corrupted, one JSON line each: the truth alerts are checked against. */
  ledger: path.default('.anomalia/demo/ledger.jsonl'),
});
export type SimulatorConfig = z.output<typeof SimulatorSchema>;

const StateSchema = z.strictObject({
  /** The monitor's own SQLite file (created when missing; never a source database). */
  path: path.default('.anomalia/monitor/state.sqlite'),
  /** `full`: durable across power loss; `normal`: across process crashes only, faster. */
  synchronous: z.enum(['full', 'normal']).default('full'),
});

const TriageSchema = z.strictObject({
  /** The least severe band stored as an alert (normal records are only counted). */
  minBand: z.enum(ALERT_BANDS).default('low'),
  /** A record whose malicious probability exceeds this gets the critical tier's malicious steps. */
  maliciousThreshold: z.number().min(0).max(1).default(0.5),
});

const RetrySchema = z
  .strictObject({
    initial: DurationSchema.default(1_000),
    max: DurationSchema.default(300_000),
    factor: z.number().min(1).max(10).default(2),
    /** Attempts before a notification is kept as dead; null: retry forever (nothing is ever dropped). */
    maxAttempts: z.number().int().positive().nullable().default(null),
  })
  .prefault({});

const sinkCommon = {
  name: NameSchema,
  retry: RetrySchema,
  /** `omit` (default): messages carry record ids but no patient identifier. */
  patientIdentifiers: z.enum(['omit', 'include']).default('omit'),
};

const JsonlSinkSchema = z.strictObject({
  ...sinkCommon,
  type: z.literal('jsonl'),
  /** One notification per line, appended and fsynced. */
  path,
});
const ConsoleSinkSchema = z.strictObject({
  ...sinkCommon,
  type: z.literal('console'),
  stream: z.enum(['stdout', 'stderr']).default('stdout'),
});
const WebhookSinkSchema = z.strictObject({
  ...sinkCommon,
  type: z.literal('webhook'),
  url: SecretSchema,
  /** HMAC-SHA256 key: requests carry `X-Anomalia-Signature: sha256=<hex of HMAC(timestamp.body)>`. */
  secret: SecretSchema.optional(),
  timeout: DurationSchema.default(10_000),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'), z.string()).default({}),
});
const SlackSinkSchema = z.strictObject({
  ...sinkCommon,
  type: z.literal('slack'),
  /** The incoming-webhook URL (a secret: prefer `{ env: NAME }`). */
  url: SecretSchema,
  timeout: DurationSchema.default(10_000),
});
const EmailSinkSchema = z.strictObject({
  ...sinkCommon,
  type: z.literal('email'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(587),
  /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
  secure: z.boolean().default(false),
  /** Refuse to send unless the server upgrades to TLS. */
  requireTls: z.boolean().default(false),
  auth: z.strictObject({ user: z.string().min(1), pass: SecretSchema }).optional(),
  from: z.email(),
  to: z.array(z.email()).min(1),
  subjectPrefix: z.string().default('[anomalia]'),
  timeout: DurationSchema.default(30_000),
});

export const SinkSchema = z.discriminatedUnion('type', [
  JsonlSinkSchema,
  ConsoleSinkSchema,
  WebhookSinkSchema,
  SlackSinkSchema,
  EmailSinkSchema,
]);
export type SinkConfig = z.output<typeof SinkSchema>;
export type SinkType = SinkConfig['type'];

/** Labels alerts group and inhibit on: built-ins, or any label the scorer attaches (e.g. `machine`). */
const LabelNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'a label name such as patient, band or machine');

const TimingSchema = {
  groupBy: z.array(LabelNameSchema),
  /** Wait before a new group's first notification, to collect its other alerts. */
  groupWait: DurationSchema,
  /** Wait before notifying a group again about alerts that joined it. */
  groupInterval: DurationSchema,
  /** Remind about a group's still-open alerts this often; null: never. */
  repeatInterval: DurationSchema.nullable(),
};

const RouteDefaultsSchema = z.strictObject({
  groupBy: TimingSchema.groupBy.default(['patient']),
  groupWait: TimingSchema.groupWait.default(30_000),
  groupInterval: TimingSchema.groupInterval.default(300_000),
  repeatInterval: TimingSchema.repeatInterval.default(null),
});

const RouteSchema = z.strictObject({
  name: NameSchema,
  /** Alerts in these bands take this route. */
  bands: z.array(z.enum(ALERT_BANDS)).min(1),
  sinks: z.array(NameSchema).min(1),
  groupBy: TimingSchema.groupBy.optional(),
  groupWait: TimingSchema.groupWait.optional(),
  groupInterval: TimingSchema.groupInterval.optional(),
  repeatInterval: TimingSchema.repeatInterval.optional(),
  /** Also try the routes after this one (Alertmanager's `continue`); default: first match wins. */
  continue: z.boolean().default(false),
});
export type RouteConfig = z.output<typeof RouteSchema>;

const InhibitRuleSchema = z.strictObject({
  /** An open alert in one of these bands … */
  sourceBands: z.array(z.enum(ALERT_BANDS)).min(1),
  /** … suppresses notifications of alerts in these bands … */
  targetBands: z.array(z.enum(ALERT_BANDS)).min(1),
  /** … that have the same, non-empty values of these labels. */
  equal: z.array(LabelNameSchema).min(1),
});
export type InhibitRule = z.output<typeof InhibitRuleSchema>;

const HttpSchema = z.strictObject({
  /** `host:port` of the dashboard and `/metrics`; anything but loopback needs `token`, `users` or `proxy`. */
  bind: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, e.g. 127.0.0.1:8080'),
  /** One shared access token (the audit log records its user as `shared-token`): prefer `users`. */
  token: SecretSchema.optional(),
  /** One access token per person: the audit log records the name of the token used. */
  users: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/, 'a user name'),
        token: SecretSchema,
      }),
    )
    .min(1)
    .optional(),
  /**
   * A reverse proxy that authenticates users and passes the name in `header`; trusted only on
   * connections from `trusted` addresses (the proxy's).
   */
  proxy: z
    .strictObject({
      header: z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'),
      trusted: z
        .array(z.union([z.ipv4(), z.ipv6()]))
        .min(1)
        .default(['127.0.0.1', '::1']),
    })
    .optional(),
  /** The labelled set the dashboard's "false positive" and "resolve" append to (default: labels.jsonl next to the state store). */
  labels: path.optional(),
  /** Days of the energy timeline. */
  timelineDays: z.number().int().min(1).max(90).default(7),
});
export type HttpConfig = z.output<typeof HttpSchema>;

const QueueSchema = z.strictObject({
  /** `redis://[:password@]host:6379[/db]` (`rediss://` for TLS); give it as `{ env: NAME }` when it holds a password. */
  redis: SecretSchema,
  /** Prefix of every Redis key of this deployment (several can share one Redis). */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/, 'up to 32 letters, digits, _ . -')
    .default('anomalia'),
  /** Sites watched besides `source`, each with its own repeatable poll job (same keys as `source`). */
  sites: z.array(SourceSchema).default([]),
  /** Treatments per scoring job: one range of a site's change cursor, or one page of a backfill window. */
  rangeSize: z.number().int().min(1).max(10_000).default(500),
  /** Planned but uncommitted ranges per site before its poll waits (bounds Redis memory while catching up). */
  maxOpenRanges: z.number().int().min(1).max(10_000).default(64),
  /** Scoring jobs one worker process runs at once. */
  concurrency: z.number().int().min(1).max(64).default(1),
  /** A job whose worker stopped renewing its lock this long ago (killed, frozen, cut off) goes to another worker. */
  lockDuration: DurationSchema.default(30_000),
});

const LogSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Replace patient identifiers in log lines with `[redacted]` (turn off only on a secured host). */
  redactPatientIdentifiers: z.boolean().default(true),
});

const HealthSchema = z.strictObject({
  /** How often the health summary is logged (and written to `file`). */
  interval: DurationSchema.default(60_000),
  /** A JSON file rewritten with the health summary (for a supervisor or a container probe). */
  file: path.optional(),
});

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/;

/** Whether `host` (as in `http.bind`, IPv6 in brackets or not) is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

export const MonitorConfigSchema = z
  .strictObject({
    source: SourceSchema,
    poll: PollSchema.prefault({}),
    model: ModelSchema,
    scoring: ScoringSchema.prefault({}),
    guard: GuardSchema.prefault({}),
    state: StateSchema.prefault({}),
    triage: TriageSchema.prefault({}),
    sinks: z
      .array(SinkSchema)
      .min(1)
      .prefault([{ name: 'alerts', type: 'jsonl', path: '.anomalia/monitor/alerts.jsonl' }]),
    routing: z
      .strictObject({
        defaults: RouteDefaultsSchema.prefault({}),
        /** Evaluated in order; absent: the seed-001 routing over every sink (see `defaultRoutes`). */
        routes: z.array(RouteSchema).min(1).optional(),
      })
      .prefault({}),
    inhibit: z
      .array(InhibitRuleSchema)
      .default([{ sourceBands: ['critical'], targetBands: ['high', 'medium', 'low'], equal: ['patient'] }]),
    http: HttpSchema.optional(),
    /** The live simulated clinic of `anomalia-monitor demo` / `simulate` (writes only to a sandbox). */
    simulator: SimulatorSchema.optional(),
    /** Distributed mode: the work as BullMQ jobs over Redis (see `QueueSchema`); absent: one process, no Redis. */
    queue: QueueSchema.optional(),
    log: LogSchema.prefault({}),
    health: HealthSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.simulator && c.source.database.type !== 'sqlite')
      ctx.addIssue({
        code: 'custom',
        path: ['simulator'],
        message: 'expected source.database to be an SQLite sandbox (the simulator writes to it)',
      });
    if (c.guard.minRecords > c.guard.window)
      ctx.addIssue({
        code: 'custom',
        path: ['guard', 'minRecords'],
        message: `expected at most guard.window (${c.guard.window})`,
      });
    const names = new Set<string>();
    c.sinks.forEach((s, i) => {
      if (names.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', i, 'name'],
          message: `expected a sink name not used before ("${s.name}" is)`,
        });
      names.add(s.name);
    });
    const known = [...names].map((n) => `"${n}"`).join(', ');
    const routeNames = new Set<string>();
    c.routing.routes?.forEach((r, i) => {
      if (routeNames.has(r.name))
        ctx.addIssue({
          code: 'custom',
          path: ['routing', 'routes', i, 'name'],
          message: `expected a route name not used before ("${r.name}" is)`,
        });
      routeNames.add(r.name);
      r.sinks.forEach((s, j) => {
        if (!names.has(s))
          ctx.addIssue({
            code: 'custom',
            path: ['routing', 'routes', i, 'sinks', j],
            message: `expected one of the sinks' names (${known})`,
          });
      });
    });
    if (c.queue) {
      const sites = new Set([c.source.name]);
      c.queue.sites.forEach((s, i) => {
        if (sites.has(s.name))
          ctx.addIssue({
            code: 'custom',
            path: ['queue', 'sites', i, 'name'],
            message: `expected a site name not used before ("${s.name}" is; \`source\` is the first site)`,
          });
        sites.add(s.name);
      });
    }
    if (c.http) {
      const host = c.http.bind.slice(0, c.http.bind.lastIndexOf(':'));
      if (!LOOPBACK.test(host) && !c.http.token && !c.http.users && !c.http.proxy)
        ctx.addIssue({
          code: 'custom',
          path: ['http', 'token'],
          message: `expected an access token (or \`users\`, or a trusted \`proxy\` header): binding to ${host}, beyond localhost, is refused without one`,
        });
    }
  });

export type MonitorConfig = z.output<typeof MonitorConfigSchema>;
export type MonitorConfigInput = z.input<typeof MonitorConfigSchema>;

/** Routing with defaults applied to each route. */
export interface ResolvedRoute {
  readonly name: string;
  readonly bands: readonly AlertBand[];
  readonly sinks: readonly string[];
  readonly groupBy: readonly string[];
  readonly groupWait: number;
  readonly groupInterval: number;
  readonly repeatInterval: number | null;
  readonly continue: boolean;
}

/**
 * Seed 001's routing when no routes are configured: critical pages every sink at once (no group
 * wait, a reminder every hour while open); high goes to every sink after 30 s of grouping (a
 * reminder every 4 h); medium and low are queued and logged on the file and console sinks only.
 */
export function defaultRoutes(c: MonitorConfig): RouteConfig[] {
  const all = c.sinks.map((s) => s.name);
  const quiet = c.sinks.filter((s) => s.type === 'jsonl' || s.type === 'console').map((s) => s.name);
  const routes: RouteConfig[] = [
    {
      name: 'critical',
      bands: ['critical'],
      sinks: all,
      groupWait: 0,
      groupInterval: 60_000,
      repeatInterval: 3_600_000,
      continue: false,
    },
    {
      name: 'high',
      bands: ['high'],
      sinks: all,
      groupWait: 30_000,
      groupInterval: 300_000,
      repeatInterval: 14_400_000,
      continue: false,
    },
  ];
  if (quiet.length) routes.push({ name: 'routine', bands: ['medium', 'low'], sinks: quiet, continue: false });
  return routes;
}

export function resolveRoutes(c: MonitorConfig): ResolvedRoute[] {
  const d = c.routing.defaults;
  return (c.routing.routes ?? defaultRoutes(c)).map((r) => ({
    name: r.name,
    bands: r.bands,
    sinks: r.sinks,
    groupBy: r.groupBy ?? d.groupBy,
    groupWait: r.groupWait ?? d.groupWait,
    groupInterval: r.groupInterval ?? d.groupInterval,
    repeatInterval: r.repeatInterval === undefined ? d.repeatInterval : r.repeatInterval,
    continue: r.continue,
  }));
}
