import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { compareSourceTables, MissingTablesError, TABLE_NAMES, type TableName } from '@anomalia/mosaiq';
import {
  describeSource,
  loadPromotedModel,
  type PromotedModel,
  type SourceConfig,
} from '@anomalia/qa-workflow';
import { ConfigError } from '../config/load';
import type { MonitorConfig } from '../config/schema';
import type { Logger } from '../log';
import type { ScoringParts } from '../service/assemble';
import { SourceConnection } from '../source/connection';
import { ChangeSummaries, CursorChangeSource } from '../source/cursor-source';
import { FitGuard } from './fit-guard';
import { MODEL_KINDS } from './model-kinds';
import { ModelScorer } from './model-scorer';

/**
 * The production halves of the seam for a config: the change cursor of `source.database` (opened
 * read-only) and the promoted model of `model.dir` with its feature set, source tables and
 * training reference. The model is loaded and verified first (a missing or tampered artifact, a
 * feature set that differs: the monitor does not start). The database is then opened; if it is
 * unreachable the monitor starts anyway and its polls retry with back-off (health says so); the
 * check of the model's tables against the source runs on every opening.
 */
export async function createDatabaseParts(config: MonitorConfig, logger: Logger): Promise<ScoringParts> {
  const dir = resolve(config.model.dir);
  let model: PromotedModel;
  try {
    model = await loadPromotedModel({
      dir,
      kinds: MODEL_KINDS,
      ...(config.model.featureSet ? { featureSet: config.model.featureSet } : {}),
    });
  } catch (error) {
    // Every problem of the model (missing, tampered, another feature set) names the setting.
    const e = error as Error;
    const key =
      e.name === 'FeatureSetMismatchError' && config.model.featureSet ? 'model.featureSet' : 'model.dir';
    if (['ValidationError', 'ArtifactError', 'FeatureSetMismatchError'].includes(e.name))
      throw new ConfigError(
        key,
        config.model.dir,
        `${e.message} (model not loaded; the monitor did not start)`,
      );
    throw error;
  }
  const identity = { name: model.name, version: model.promotion.runId };
  const sourceName = describeSource(config.source.database);
  if (!model.reference)
    logger.warn(
      { model: identity },
      `model ${model.name} has no training reference (reference.json): the data-mismatch guard can only check tables and the alert rate (retrain to keep one)`,
    );

  // Filled on every opening of the source: tables the model needs that the source lacks, and the
  // tables whose features are extracted as unobserved (absent from the source or from training).
  const tables = { missing: [] as TableName[], unobserved: [] as TableName[] };
  const connection = new SourceConnection(withReaderThread(config.source.database), async (opened) => {
    if (!model.sourceTables) return;
    const presence = await opened.reader.tablePresence();
    const c = compareSourceTables(model.sourceTables.present, presence);
    const usable = new Set(model.sourceTables.present.filter((t) => presence.present.includes(t)));
    tables.unobserved = TABLE_NAMES.filter((t) => !usable.has(t));
    tables.missing = c.missing;
    if (c.missing.length) {
      const error = new MissingTablesError(sourceName, c.missing);
      if (config.model.missingTables === 'refuse') throw error;
      logger.warn({ missing: c.missing }, `${error.message} (model.missingTables: warn)`);
    }
  });
  try {
    await connection.open();
  } catch (error) {
    // A model/source disagreement is a configuration problem: refuse to start.
    if ((error as Error).name === 'MissingTablesError') throw error;
    logger.error(
      { err: (error as Error).message, source: sourceName },
      'source unreachable at start; polls will retry with back-off',
    );
  }

  const summaries = new ChangeSummaries();
  const source = new CursorChangeSource({
    kind: config.source.database.type,
    reader: connection.reader,
    lookback: config.poll.lookback,
    summaries,
  });
  const guard = new FitGuard({
    reference: model.reference,
    get missingTables() {
      return tables.missing;
    },
    window: config.guard.window,
    minRecords: config.guard.minRecords,
    psiThreshold: config.guard.psi,
    maxShiftedShare: config.guard.maxShiftedShare,
    maxAlertShare: config.guard.maxAlertShare,
  });
  // The course watch's window: for the checks, and for course features with the checks off.
  const courses = {
    historyDays: config.scoring.longitudinal.historyDays,
    maxFractions: config.scoring.longitudinal.maxFractions,
  };
  const scorer = new ModelScorer({
    model,
    identity,
    reader: connection.reader,
    historyDays: featureHistoryDays(config),
    longitudinal: config.scoring.longitudinal.enabled ? courses : null,
    courses,
    get absentTables() {
      return tables.unobserved;
    },
    mcDropoutSamples: config.model.mcDropoutSamples,
    saliencyTop: config.model.saliency,
    summaries,
    guard,
    logger,
  });
  logger.info(
    {
      model: identity,
      kind: model.kind,
      featureSet: model.featureSet.name,
      historyDays: featureHistoryDays(config),
      source: sourceName,
      reference: model.reference ? model.reference.rows.count : null,
    },
    'model loaded',
  );
  return {
    source,
    scorer: Object.assign(scorer, {
      close: async () => {
        await connection.close();
      },
    }),
  };
}

/**
 * Cores from which an SQLite source is read in a worker thread unless `readerThread` says: the
 * main thread scoring, the reader and V8's collector each keep one busy while catching up. On two
 * cores the thread mostly adds the copy across threads (measured: about the same wall time, 10–15 %
 * more CPU).
 */
const READER_THREAD_MIN_CORES = 4;

/** The source as the monitor opens it: SQLite read in a worker thread where there are cores for it. */
export function withReaderThread(database: SourceConfig, cores = availableParallelism()): SourceConfig {
  if (database.type !== 'sqlite' || database.readerThread !== undefined) return database;
  return { ...database, readerThread: cores >= READER_THREAD_MIN_CORES };
}

/** Previous-fraction context (`qa74-cohort`): a month of each patient's deliveries is plenty. */
const PREVIOUS_FRACTION_DAYS = 30;

/**
 * Days of each patient's history the model's features see as context: `model.historyDays` when
 * set, else a month (the previous fraction, repeats within minutes). Course features
 * (`qa74-longitudinal`) need no more: they come from the course watch's tracker, which follows
 * every course from the first fraction it saw, reading a newly seen patient's last
 * `scoring.longitudinal.historyDays`, as training's tracker followed whole courses.
 */
export function featureHistoryDays(config: MonitorConfig): number {
  return config.model.historyDays ?? PREVIOUS_FRACTION_DAYS;
}
