import { existsSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { digitize, type Matrix, stratifiedSplit } from '@anomalia/core';
import {
  cloneAsSandbox,
  createClinicDatabase,
  openSandboxWriter,
  openTreatmentReader,
  tableChecksum,
} from '@anomalia/db-sqlite';
import { createCohort, createKeyAllocator, planCorruption } from '@anomalia/failure-modes';
import { getFeatureSet, unobservedFeatures } from '@anomalia/features';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { DEFAULT_SAMPLING_MIX } from '@anomalia/severity';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import type { Progress } from '../progress';
import type { MatrixData, MatrixPart, RowMeta } from './types';

type MosaiqConfig = Extract<TrainConfig['dataset'], { kind: 'mosaiq' }>;

const BATCH = 5000;
const DAY = 86_400_000;
/** Severity band edges: normal < 0.4 ≤ low < 1.0 ≤ medium < 1.8 ≤ high < 2.5 ≤ critical. */
const BAND_EDGES = [0.4, 1.0, 1.8, 2.5];
const SCALE_MAX = 3;

/** `s` moved at least `margin` inside its severity band (the scale's ends stay where they are). */
export function insideBand(s: number, margin: number): number {
  let lo = 0;
  let hi = SCALE_MAX;
  for (const edge of BAND_EDGES) {
    if (s >= edge) lo = edge;
    else {
      hi = edge;
      break;
    }
  }
  const floor = lo > 0 ? lo + margin : lo;
  const ceiling = hi < SCALE_MAX ? hi - margin : hi;
  return Math.min(Math.max(s, floor), ceiling);
}

async function loadAll(
  reader: ReturnType<typeof openTreatmentReader>,
  ids: number[],
  progress: Progress,
  label: string,
): Promise<TreatmentRecord[]> {
  const out: TreatmentRecord[] = [];
  for (let i = 0; i < ids.length; i += BATCH) {
    const { records } = await reader.loadRecords(ids.slice(i, i + BATCH));
    out.push(...records);
    progress.step(label, Math.min(ids.length, i + BATCH), ids.length);
  }
  return out;
}

/**
 * The Mosaiq workflow of seed 000, without writing to the source:
 * 1. the source (created as a synthetic clinic when missing and configured) is read read-only;
 * 2. the cohort is every treatment of the last `recentDays` (relative to the latest one);
 * 3. a sandbox copy is made, a seeded severity-balanced corruption plan is applied to it in one
 *    transaction (recorded in its ledger);
 * 4. the examples are read back from the sandbox and turned into the 74 QA features;
 * 5. the split is stratified by severity band; held-out variants go to the test split only;
 * 6. after training, `finish` restores the sandbox and checks its checksum against the original.
 */
export async function prepareMosaiq(
  cfg: MosaiqConfig,
  seed: number,
  runDir: string,
  progress: Progress,
): Promise<MatrixData> {
  const source = resolve(cfg.source);
  if (!existsSync(source)) {
    if (!cfg.synthesizeIfMissing)
      throw new ConfigError(
        'dataset.source',
        `an existing SQLite database (or set dataset.synthesizeIfMissing), got ${source}`,
      );
    await mkdir(dirname(source), { recursive: true });
    progress.info(
      `creating a synthetic clinic of ${cfg.synthesizeIfMissing.records} treatments at ${source}`,
    );
    createClinicDatabase(source, {
      seed: cfg.synthesizeIfMissing.seed,
      records: cfg.synthesizeIfMissing.records,
    });
  }

  const reader = openTreatmentReader(source);
  // Tables the source's extract lacked (anomalia-import records them): their features are unobserved, not missing.
  const tables = reader.tablePresence();
  let cohortRecords: TreatmentRecord[];
  let asOf: Date;
  let window: { from: Date; to: Date };
  let floor: Record<string, number>;
  try {
    // New rows (duplicated treatments) take keys above everything in the database, not just the cohort.
    floor = Object.fromEntries(
      Object.entries(reader.maxKeys()).filter((e): e is [string, number] => e[1] !== null),
    );
    const all = await reader.listTreatments({
      from: new Date(0),
      to: new Date(Date.UTC(9999, 0, 1)),
      pageSize: 10_000,
    });
    let latest = 0;
    const summaries = [...all.items];
    for (let cursor = all.nextCursor; cursor; ) {
      const page = await reader.listTreatments({
        from: new Date(0),
        to: new Date(Date.UTC(9999, 0, 1)),
        pageSize: 10_000,
        cursor,
      });
      summaries.push(...page.items);
      cursor = page.nextCursor;
    }
    for (const s of summaries)
      if (s.Create_DtTm && s.Create_DtTm.getTime() > latest) latest = s.Create_DtTm.getTime();
    if (!latest) throw new ConfigError('dataset.source', `a database with treatments, ${source} has none`);
    window = { from: new Date(latest - cfg.recentDays * DAY), to: new Date(latest + 1) };
    const ids = summaries.filter((s) => s.Create_DtTm && s.Create_DtTm >= window.from).map((s) => s.TTX_ID);
    progress.stage(
      `reading ${ids.length} treatments of the last ${cfg.recentDays} days from ${source} (read-only)`,
    );
    cohortRecords = await loadAll(reader, ids, progress, 'records');
    asOf = new Date(latest);
  } finally {
    await reader.close();
  }

  const cohort = createCohort(cohortRecords);
  asOf = cohort.latestTimestamp ?? asOf;
  const eligible = (r: TreatmentRecord) =>
    r.treatment.WasBeamComplete === true && r.treatment.WasQAMode !== true;
  const available = cohortRecords.filter(eligible).length;
  const n = cfg.normal + cfg.adversarial;
  if (available < cfg.normal) {
    throw new ConfigError(
      'dataset.normal',
      `at most the ${available} completed non-QA treatments of the last ${cfg.recentDays} days (raise recentDays or lower normal)`,
    );
  }
  const anomalyWeight = 1 - DEFAULT_SAMPLING_MIX.normal;
  const mix = {
    normal: cfg.normal / n,
    ...Object.fromEntries(
      (['low', 'medium', 'high', 'critical_accidental', 'critical_malicious'] as const).map((s) => [
        s,
        s === 'critical_malicious' && !cfg.includeMalicious
          ? 0
          : (DEFAULT_SAMPLING_MIX[s] / anomalyWeight) * (cfg.adversarial / n),
      ]),
    ),
  };
  progress.stage(`planning ${cfg.adversarial} corruptions and ${cfg.normal} normal examples (seed ${seed})`);
  const plan = planCorruption({
    cohort,
    n,
    seed,
    mix,
    kinds: cfg.includeMalicious ? undefined : ['accidental'],
    eligible,
    keys: createKeyAllocator({ rows: cohort.rows, floor }),
  });

  const sandbox = resolve(cfg.sandbox ?? join(runDir, 'sandbox.sqlite'));
  progress.stage(
    `cloning the source into the sandbox ${sandbox} and applying ${plan.changes.length} changes in one transaction`,
  );
  cloneAsSandbox(source, sandbox);
  const checksumBefore = tableChecksum(sandbox);
  const writer = openSandboxWriter(sandbox);
  const run = await writer.apply(plan.changes, {
    label: `corruption plan: ${plan.applications.length} applications, seed ${seed}`,
    seed,
    params: { n, mix },
  });

  const examples = plan.examples;
  const sandboxReader = openTreatmentReader(sandbox);
  let records: TreatmentRecord[];
  try {
    progress.stage(`reading ${examples.length} examples back from the sandbox`);
    records = await loadAll(
      sandboxReader,
      examples.map((e) => e.ttxId),
      progress,
      'examples',
    );
  } finally {
    await sandboxReader.close();
  }
  if (records.length !== examples.length)
    throw new Error(`read ${records.length} of ${examples.length} examples back from the sandbox`);
  const featureSet = getFeatureSet(cfg.features);
  const unobserved = unobservedFeatures(
    featureSet.features.map((f) => f.name),
    tables.absent,
  );
  progress.stage(`extracting the ${featureSet.features.length} features of ${featureSet.name}`);
  // The cohort as read from the source is the context of cohort features (a batch record supersedes its own source version).
  const fm = featureSet.extract(records, {
    asOf,
    history: cfg.features === 'qa74' ? undefined : cohortRecords,
    absentTables: tables.absent,
  });
  const holdout = new Set(cfg.holdoutVariants);
  const meta: RowMeta[] = examples.map((e) => ({
    ttxId: e.ttxId,
    mode: e.mode,
    variant: e.variant,
    severity: e.severity,
    heldOut: e.mode !== null && holdout.has(`${e.mode}/${e.variant}`),
  }));
  const unknownHoldouts = [...holdout].filter((h) => !meta.some((m) => `${m.mode}/${m.variant}` === h));
  if (unknownHoldouts.length)
    throw new ConfigError(
      'dataset.holdoutVariants',
      `pairs the plan produced; none of ${unknownHoldouts.join(', ')} was planned (check the names)`,
    );

  const inTraining = meta.flatMap((m, i) => (m.heldOut ? [] : [i]));
  const heldOut = meta.flatMap((m, i) => (m.heldOut ? [i] : []));
  const severity = Float64Array.from(examples, (e) => e.severity);
  const bands = digitize(
    Float64Array.from(inTraining, (i) => severity[i]!),
    BAND_EDGES,
  );
  const split = stratifiedSplit(bands, cfg.split, seed);
  const rows = (idx: number[], margin = 0): MatrixPart => ({
    X: (fm.X as Matrix).selectRows(idx),
    target: Float64Array.from(idx, (i) => insideBand(severity[i]!, margin)),
    y: Float64Array.from(idx, (i) => (severity[i]! >= BAND_EDGES[0]! ? 1 : 0)),
    meta: idx.map((i) => meta[i]!),
  });
  const part = (local: ArrayLike<number>, margin = 0) =>
    rows(
      Array.from(local, (k) => inTraining[k]!),
      margin,
    );
  const csv = [
    'ttx_id,mode,variant,severity,held_out',
    ...meta
      .filter((m) => m.mode)
      .map((m) => `${m.ttxId},${m.mode},${m.variant},${m.severity},${m.heldOut ? 1 : 0}`),
  ].join('\n');

  return {
    kind: 'matrix',
    featureNames: [...fm.featureNames],
    graded: true,
    parts: {
      train: part(split.train, cfg.bandMargin),
      validation: part(split.validation, cfg.bandMargin),
      calibration: part(split.calibration),
      test: part(split.test),
      ...(heldOut.length ? { heldOut: rows(heldOut) } : {}),
    },
    notes: [
      `Source ${source} (read-only); cohort: ${cohortRecords.length} treatments from ${window.from.toISOString().slice(0, 10)} to ${asOf.toISOString().slice(0, 10)}, ${available} completed non-QA.`,
      `Corruption plan (seed ${seed}): ${plan.applications.length} applications, ${plan.changes.length} changes, ${plan.labels.length} affected records; strata ${plan.strata.map((s) => `${s.stratum} ${s.planned}`).join(', ')}.`,
      ...(plan.shortfall.length
        ? [`Shortfall: ${plan.shortfall.map((s) => `${s.stratum} −${s.missing} (${s.reason})`).join('; ')}.`]
        : []),
      ...(heldOut.length
        ? [
            `Held out of training and evaluated apart from the test split: ${[...holdout].join(', ')} (${heldOut.length} examples).`,
          ]
        : []),
      `Features (${featureSet.name}) extracted as of ${asOf.toISOString()} (the cohort's latest timestamp).`,
      ...(tables.absent.length
        ? [
            `The source's extract has no ${tables.absent.join(', ')}: ${unobserved.length} features from them are unobserved (constant), and this model does not apply to a source without ${tables.present.join(', ')}.`,
          ]
        : []),
      ...(cfg.bandMargin > 0
        ? [
            `Training and validation targets moved ${cfg.bandMargin} inside their severity band; calibration and test use the true severities.`,
          ]
        : []),
    ],
    files: {
      'failure_mode_records.csv': `${csv}\n`,
      'source_tables.json': `${JSON.stringify(tables, null, 2)}\n`,
    },
    finish: async () => {
      await writer.restore(run.runId);
      await writer.close();
      const checksumAfter = tableChecksum(sandbox);
      if (checksumAfter !== checksumBefore)
        throw new Error(`sandbox ${sandbox}: checksum after restore differs from before the run`);
      if (!cfg.sandbox) rmSync(sandbox, { force: true });
      return {
        sourceTables: tables,
        sandbox: {
          path: sandbox,
          runId: run.runId,
          changes: plan.changes.length,
          restored: true,
          checksum: checksumBefore,
          kept: Boolean(cfg.sandbox),
        },
      };
    },
  };
}
