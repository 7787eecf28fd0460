import { join } from 'node:path';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import type { SequenceData } from '../data/types';
import type { Progress } from '../progress';
import { NGRAM_MODES, type SequenceModel } from '../registry';
import type { ReportData } from '../report/types';
import { evaluateSequenceModel, fitSequenceModel } from './sequence-fit';

export interface SequenceRunResult {
  report: Omit<ReportData, 'title' | 'runId' | 'createdAt' | 'promotion'>;
  history: Array<Record<string, number>>;
  /** The model's parameters with the resolved mode (folds fit the same model). */
  params: Record<string, unknown>;
  /** Whether the model fits on labels (the n-gram classifier). */
  supervised: boolean;
}

/**
 * Fits, calibrates, thresholds and evaluates a sequence detector from the registry (`ngram`) on
 * the same Detector contract as the matrix models; saves its artifact into `<runDir>/model`.
 * `params.mode` defaults to "classifier" when the training split is labelled, else
 * "language-model". Calibration comes before the threshold: a classifier's score is its
 * (re-calibrated) probability, which the threshold is chosen on.
 */
export async function runSequenceModel(
  config: TrainConfig,
  data: SequenceData,
  entry: SequenceModel,
  runDir: string,
  progress: Progress,
): Promise<SequenceRunResult> {
  const params = config.model.params ?? {};
  const mode = params.mode ?? (data.labelledTrain ? 'classifier' : 'language-model');
  if (!NGRAM_MODES.includes(mode as (typeof NGRAM_MODES)[number])) {
    throw new ConfigError(
      'model.params.mode',
      `one of ${NGRAM_MODES.join(', ')}, got ${JSON.stringify(params.mode)}`,
    );
  }
  if (mode === 'classifier' && !data.labelledTrain)
    throw new ConfigError(
      'model.params.mode',
      'language-model or stide: the classifier needs labelled training sequences (dataset.numSamples)',
    );
  const { train, test } = data.parts;
  const seconds: Record<string, number> = {};

  progress.stage(`training the n-gram ${mode} on ${train.sequences.length} sequences`);
  const t0 = performance.now();
  const model = await fitSequenceModel(config, entry, { ...params, mode }, data.parts, config.seed);
  seconds.fit = (performance.now() - t0) / 1000;
  const { detector, history, threshold } = model;

  progress.stage(`evaluating on ${test.sequences.length} test sequences`);
  const t1 = performance.now();
  const { scores, binary: evaluation } = await evaluateSequenceModel(model, data.parts);
  seconds.score = (performance.now() - t1) / 1000;
  await detector.save(join(runDir, 'model'), { metrics: evaluation.metrics });
  return {
    history,
    params: { ...params, mode },
    supervised: model.supervised,
    report: {
      modelType: `ngram (${mode})`,
      datasetKind: 'sequences',
      scoreName: entry.scoreName(detector),
      seconds,
      metrics: evaluation.metrics,
      threshold: threshold?.value ?? null,
      thresholdStrategy: threshold
        ? `${threshold.strategy.strategy} on the ${threshold.split} split`
        : undefined,
      history: history.map((h, i) => ({ epoch: i + 1, ...h })),
      test: Array.from(scores, (s, i) => ({ score: s, label: (test.y?.[i] ?? 0) as 0 | 1 })),
      confusion: evaluation.confusion,
      roc: evaluation.roc,
      pr: evaluation.pr,
      notes: data.notes,
    },
  };
}
