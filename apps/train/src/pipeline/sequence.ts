import { join } from 'node:path';
import type { Sequences } from '@anomalia/sequence';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import type { SequenceData, SequencePart } from '../data/types';
import type { Progress } from '../progress';
import { NGRAM_MODES, type SequenceModel } from '../registry';
import type { ReportData } from '../report/types';
import { binaryEvaluation } from './evaluate';
import { calibrationPart, chooseThreshold, type LabelledPart } from './thresholding';

export interface SequenceRunResult {
  report: Omit<ReportData, 'title' | 'runId' | 'createdAt' | 'promotion'>;
  history: Array<Record<string, number>>;
}

const asPart = (p?: SequencePart): LabelledPart<Sequences> | undefined => p && { X: p.sequences, y: p.y };

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
  const params = config.model.params;
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
  const detector = entry.create({ ...params, mode }, config.seed);
  const supervised = entry.supervised(detector);
  const { train, validation, calibration, test } = data.parts;
  const seconds: Record<string, number> = {};

  progress.stage(`training the n-gram ${mode} on ${train.sequences.length} sequences`);
  const t0 = performance.now();
  const fit = await detector.fit(train.sequences, { y: supervised ? train.y : undefined });
  seconds.fit = (performance.now() - t0) / 1000;
  const history = (fit.history ?? []) as Array<Record<string, number>>;

  const held = calibrationPart({ validation: asPart(validation), calibration: asPart(calibration) });
  if (held) await detector.calibrate(held.X, held.y, config.calibration);
  const threshold = await chooseThreshold(
    detector,
    { train: asPart(train)!, validation: asPart(validation), calibration: asPart(calibration) },
    config.threshold,
  );

  progress.stage(`evaluating on ${test.sequences.length} test sequences`);
  const t1 = performance.now();
  const scores = await detector.score(test.sequences);
  seconds.score = (performance.now() - t1) / 1000;
  const probabilities =
    supervised || detector.calibrator ? await detector.predictProba(test.sequences) : null;
  const evaluation = binaryEvaluation(scores, test.y, threshold?.value ?? null, probabilities);
  await detector.save(join(runDir, 'model'), { metrics: evaluation.metrics });
  return {
    history,
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
