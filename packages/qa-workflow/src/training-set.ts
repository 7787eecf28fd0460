import { ValidationError } from '@anomalia/core';
import {
  type Cohort,
  type CorruptionPlan,
  createCohort,
  createKeyAllocator,
  planCorruption,
} from '@anomalia/failure-modes';
import { type FeatureMatrix, type FeatureSet, type FeatureSetName, getFeatureSet } from '@anomalia/features';
import type { SandboxRun, TablePresence, TreatmentRecord } from '@anomalia/mosaiq';
import { DEFAULT_SAMPLING_MIX, type SamplingMix } from '@anomalia/severity';
import { keyFloor, loadRecentCohort } from './cohort';
import { treatmentsWithOwnRowsChanged } from './monitor-view';
import type { WorkflowProgress } from './progress';
import { corruptSandboxCopy, type SandboxReport } from './sandbox-run';
import {
  describeSource,
  openSource,
  type SourceConfig,
  sourceExists,
  synthesizeSource,
} from './sources/registry';
import type { SyntheticClinic } from './sources/types';

export interface TrainingSetOptions {
  readonly source: SourceConfig;
  /** Create a synthetic clinic of this size where the source is missing. */
  readonly synthesizeIfMissing?: SyntheticClinic;
  /** The cohort: every treatment of the last `recentDays` before the source's latest one. */
  readonly recentDays: number;
  /** Normal examples (completed, non-QA treatments no change touches). */
  readonly normal: number;
  /** Corrupted examples, spread over severity strata by the default sampling mix. */
  readonly adversarial: number;
  readonly includeMalicious: boolean;
  readonly seed: number;
  /** The SQLite file the corruptions are applied to (a copy of the source). */
  readonly sandboxPath: string;
  /** Keep the sandbox file after `finish` (it is restored either way). */
  readonly keepSandbox?: boolean;
  readonly featureSet: FeatureSetName;
  readonly progress?: WorkflowProgress;
  /** Where these options sit in the caller's config, for error fields (e.g. `dataset`). */
  readonly configPath?: string;
  /**
   * Train on a source that is a sandbox with runs still applied (its "normal" records then include
   * corrupted ones). Refused by default, naming the runs.
   */
  readonly allowUnrestoredRuns?: boolean;
}

/** The examples of a seeded corruption plan, read back from a sandbox and turned into features. */
export interface TrainingSet {
  /** The source's name (a path, a server/database). */
  readonly sourceName: string;
  readonly cohort: {
    /** The cohort as read from the source (read-only). */
    readonly records: readonly TreatmentRecord[];
    readonly window: { readonly from: Date; readonly to: Date };
    /** The cohort's latest timestamp: features are extracted as of it. */
    readonly asOf: Date;
    /** Records that may be examples: completed, non-QA. */
    readonly eligible: number;
    /** The cohort indexed for failure modes (what the plan was drawn from). */
    readonly index: Cohort;
  };
  /** The tables the source holds: features of absent ones are unobserved, and a model records them. */
  readonly sourceTables: TablePresence;
  /** Runs still applied to the source when it is a sandbox (only with `allowUnrestoredRuns`; else none). */
  readonly unrestoredRuns: readonly SandboxRun[];
  readonly mix: SamplingMix;
  readonly plan: CorruptionPlan;
  readonly featureSet: FeatureSet;
  /** One row per `plan.examples` entry, in that order. */
  readonly features: FeatureMatrix;
  /** Restores the sandbox and checks its checksum (call after training, even when it failed). */
  finish(): Promise<SandboxReport>;
}

/** `run run-3 (invalid_angles/gantry, 12 changes) is` / `runs run-3 (...), run-4 (...) are`, at most ten listed. */
function describeRuns(runs: readonly SandboxRun[]): string {
  const shown = runs.slice(0, 10).map((r) => {
    const what = r.meta.mode ? `${r.meta.mode}/${r.meta.variant ?? '?'}` : JSON.stringify(r.meta.label);
    return `${r.runId} (${what}, ${r.changeCount} change${r.changeCount === 1 ? '' : 's'}, applied ${r.appliedAt.toISOString()})`;
  });
  const more = runs.length > shown.length ? ` and ${runs.length - shown.length} more` : '';
  return runs.length === 1 ? `run ${shown[0]} is` : `runs ${shown.join(', ')}${more} are`;
}

/** Completed beams delivered outside QA mode: the records a training set draws examples from. */
export const isTrainingEligible = (r: TreatmentRecord): boolean =>
  r.treatment.WasBeamComplete === true && r.treatment.WasQAMode !== true;

/**
 * The sampling mix for `normal` clean and `adversarial` corrupted examples: the normal share as
 * asked, the corrupted share spread over the other strata in the default mix's proportions
 * (malicious ones only when included).
 */
export function trainingMix(normal: number, adversarial: number, includeMalicious: boolean): SamplingMix {
  const n = normal + adversarial;
  const anomalyWeight = 1 - DEFAULT_SAMPLING_MIX.normal;
  return {
    normal: normal / n,
    ...Object.fromEntries(
      (['low', 'medium', 'high', 'critical_accidental', 'critical_malicious'] as const).map((s) => [
        s,
        s === 'critical_malicious' && !includeMalicious
          ? 0
          : (DEFAULT_SAMPLING_MIX[s] / anomalyWeight) * (adversarial / n),
      ]),
    ),
  } as SamplingMix;
}

/**
 * The Mosaiq training workflow, never writing to the source:
 * 1. the source (created as a synthetic clinic when missing and asked for) is read read-only;
 * 2. the cohort is every treatment of the last `recentDays` (relative to the latest one);
 * 3. a seeded severity-balanced corruption plan is drawn over its completed non-QA records;
 * 4. a sandbox copy is made and the plan applied to it in one transaction (in its ledger);
 * 5. the examples are read back from the sandbox and turned into the feature set;
 * 6. `finish` restores the sandbox and checks its checksum against the copy's.
 */
export async function prepareTrainingSet(options: TrainingSetOptions): Promise<TrainingSet> {
  const field = (name: string) => (options.configPath ? `${options.configPath}.${name}` : name);
  const { source, progress, seed } = options;
  const sourceName = describeSource(source);
  if (!sourceExists(source)) {
    if (!options.synthesizeIfMissing) {
      throw new ValidationError(
        field('source'),
        `an existing database (or set ${field('synthesizeIfMissing')})`,
        sourceName,
      );
    }
    progress?.info(
      `creating a synthetic clinic of ${options.synthesizeIfMissing.records} treatments at ${sourceName}`,
    );
    synthesizeSource(source, options.synthesizeIfMissing, field('source'));
  }

  const opened = await openSource(source);
  let recent: Awaited<ReturnType<typeof loadRecentCohort>>;
  let floor: Awaited<ReturnType<typeof keyFloor>>;
  let sourceTables: TablePresence;
  let unrestoredRuns: SandboxRun[];
  try {
    // A sandbox with runs still applied holds corrupted rows that would be taken for normal ones.
    unrestoredRuns = await opened.reader.unrestoredRuns();
    if (unrestoredRuns.length > 0) {
      if (!options.allowUnrestoredRuns) {
        throw new ValidationError(
          field('source'),
          `a source without unrestored sandbox runs: ${sourceName} is a sandbox whose ${describeRuns(unrestoredRuns)} still applied, so records taken as normal would include corrupted ones. Restore them first (the MCP tool restore_run, or SandboxWriter.restore), or set ${field('allowUnrestoredRuns')}: true to train on it as it is`,
          sourceName,
        );
      }
      progress?.info(
        `training on ${sourceName} with ${describeRuns(unrestoredRuns)} still applied (${field('allowUnrestoredRuns')})`,
      );
    }
    // Tables the source's extract lacked (anomalia-import records them) are unobserved, not missing.
    sourceTables = await opened.reader.tablePresence();
    // New rows (duplicated treatments) take keys above everything in the database, not just the cohort.
    floor = await keyFloor(opened.reader);
    recent = await loadRecentCohort(opened.reader, options.recentDays, progress, sourceName);
  } finally {
    await opened.close();
  }
  if (!recent) throw new ValidationError(field('source'), 'a database with treatments', sourceName);

  const cohort: Cohort = createCohort(recent.records);
  const asOf = cohort.latestTimestamp ?? recent.latest;
  const eligible = recent.records.filter(isTrainingEligible).length;
  if (eligible < options.normal) {
    throw new ValidationError(
      field('normal'),
      `at most the ${eligible} completed non-QA treatments of the last ${options.recentDays} days (raise recentDays or lower normal)`,
      options.normal,
    );
  }
  const n = options.normal + options.adversarial;
  const mix = trainingMix(options.normal, options.adversarial, options.includeMalicious);
  progress?.stage(
    `planning ${options.adversarial} corruptions and ${options.normal} normal examples (seed ${seed})`,
  );
  const plan = planCorruption({
    cohort,
    n,
    seed,
    mix,
    kinds: options.includeMalicious ? undefined : ['accidental'],
    eligible: isTrainingEligible,
    keys: createKeyAllocator({ rows: cohort.rows, floor }),
  });
  const normalShort = plan.shortfall.find((s) => s.stratum === 'normal');
  if (normalShort) {
    // Malicious modes take whole courses and field modes whole fields: a small cohort runs out of
    // untouched records, and a model trained on half its normals learns a thinner normal class.
    progress?.info(
      `warning: only ${options.normal - normalShort.missing} of ${options.normal} normal examples: the cohort has too few completed non-QA treatments that no corruption touches; use a larger source${options.synthesizeIfMissing ? ` (${field('synthesizeIfMissing')} creates one only when ${sourceName} is missing: delete it to create one of ${options.synthesizeIfMissing.records} treatments)` : ''} or lower ${field('adversarial')}`,
    );
  }

  progress?.stage(
    `cloning the source into the sandbox ${options.sandboxPath} and applying ${plan.changes.length} changes in one transaction`,
  );
  const run = await corruptSandboxCopy(
    source,
    options.sandboxPath,
    plan.changes,
    {
      label: `corruption plan: ${plan.applications.length} applications, seed ${seed}`,
      seed,
      params: { n, mix },
    },
    { keep: options.keepSandbox ?? false, field: field('source'), cohort },
  );
  let features: FeatureMatrix;
  let featureSet: FeatureSet;
  try {
    progress?.stage(`reading ${plan.examples.length} examples back from the sandbox`);
    const records = await run.readRecords(
      plan.examples.map((e) => e.ttxId),
      progress,
      'examples',
    );
    if (records.length !== plan.examples.length)
      throw new Error(`read ${records.length} of ${plan.examples.length} examples back from the sandbox`);
    featureSet = getFeatureSet(options.featureSet);
    // The context of cohort features: the cohort as read from the source (a batch record
    // supersedes its own source version). For the longitudinal set, the cohort as a monitor
    // would have read it fraction by fraction: treatments whose own rows the plan changed (a
    // field version repointed, an offset moved) are read back corrupted, so an attack's earlier
    // fractions are in the example's course history; shared rows edited in place stay as the
    // monitor saw them before the edit.
    let history: readonly TreatmentRecord[] | undefined =
      options.featureSet === 'qa74' ? undefined : recent.records;
    if (options.featureSet === 'qa74-longitudinal') {
      const examples = new Set(plan.examples.map((e) => e.ttxId));
      const own = [...treatmentsWithOwnRowsChanged(cohort, plan.changes)].filter((id) => !examples.has(id));
      progress?.stage(`reading ${own.length} changed treatments back as the monitor's history`);
      const seen = new Map(
        (await run.readRecords(own, progress, 'history')).map((r) => [r.treatment.TTX_ID, r]),
      );
      history = recent.records.map((r) => seen.get(r.treatment.TTX_ID) ?? r);
    }
    progress?.stage(`extracting the ${featureSet.features.length} features of ${featureSet.name}`);
    features = featureSet.extract(records, { asOf, history, absentTables: sourceTables.absent });
  } catch (error) {
    await run.restore();
    throw error;
  }
  return {
    sourceName,
    unrestoredRuns,
    cohort: { records: recent.records, window: recent.window, asOf, eligible, index: cohort },
    sourceTables,
    mix,
    plan,
    featureSet,
    features,
    finish: () => run.restore(),
  };
}
