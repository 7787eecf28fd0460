import { join } from 'node:path';
import type { Threshold } from '@anomalia/core';
import { NGramClassifier, type Sequence, SequenceAnomalyDetector } from '@anomalia/sequence';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import type { SequenceData, SequencePart } from '../data/types';
import type { Progress } from '../progress';
import type { ReportData } from '../report/types';
import { binaryEvaluation } from './evaluate';

export interface SequenceRunResult {
  report: Omit<ReportData, 'title' | 'runId' | 'createdAt' | 'promotion'>;
  history: Array<Record<string, number>>;
}

const labelledSamples = (p: SequencePart) =>
  p.sequences.map((sequence, i) => ({ sequence, label: (p.y?.[i] ?? 0) as 0 | 1 }));
const bothClasses = (p?: SequencePart): p is SequencePart & { y: Float64Array } =>
  Boolean(p?.y?.some((v) => v === 1) && p.y.some((v) => v === 0));

/**
 * The `ngram` model. `params.mode` picks the model: "classifier" (supervised, the default when
 * the training split is labelled) or "language-model" / "stide" (unsupervised, trained on normal
 * sequences only). The rest of `params` goes to the model.
 */
export async function runSequenceModel(
  config: TrainConfig,
  data: SequenceData,
  runDir: string,
  progress: Progress,
): Promise<SequenceRunResult> {
  const {
    mode: modeParam,
    epochs,
    batchSize,
    ...params
  } = config.model.params as Record<string, unknown> & {
    mode?: unknown;
    epochs?: number;
    batchSize?: number;
  };
  const mode = modeParam ?? (data.labelledTrain ? 'classifier' : 'language-model');
  if (mode !== 'classifier' && mode !== 'language-model' && mode !== 'stide') {
    throw new ConfigError(
      'model.params.mode',
      `one of classifier, language-model, stide, got ${JSON.stringify(modeParam)}`,
    );
  }
  if (mode === 'classifier' && !data.labelledTrain)
    throw new ConfigError(
      'model.params.mode',
      'language-model or stide: the classifier needs labelled training sequences (dataset.numSamples)',
    );
  const { train, validation, calibration, test } = data.parts;
  const seconds: Record<string, number> = {};
  const t0 = performance.now();
  let score: (s: readonly Sequence[]) => Float64Array;
  let probabilities: ((s: readonly Sequence[]) => Float64Array) | null = null;
  let threshold: Threshold | null = null;
  let history: Array<Record<string, number>> = [];
  let save: (path: string) => Promise<void>;

  progress.stage(`training the n-gram ${mode} on ${train.sequences.length} sequences`);
  if (mode === 'classifier') {
    const clf = new NGramClassifier({ seed: config.seed, ...params });
    const r = clf.train(labelledSamples(train), { epochs, batchSize });
    history = (r.history ?? []) as Array<Record<string, number>>;
    seconds.fit = (performance.now() - t0) / 1000;
    const cal = [calibration, validation].find(bothClasses);
    if (cal) clf.calibrate(labelledSamples(cal), config.calibration);
    const thr = [validation, calibration].find(bothClasses);
    if (thr)
      threshold = clf.fitThreshold(
        { strategy: 'max-f1' },
        labelledSamples(thr),
        thr === validation ? 'validation' : 'calibration',
      );
    score = (s) => clf.predictProba(s);
    probabilities = score;
    save = (p) => clf.save(p);
  } else {
    const det = new SequenceAnomalyDetector({ mode, ...params });
    det.fit(train.sequences);
    seconds.fit = (performance.now() - t0) / 1000;
    const cal = calibration ?? validation;
    if (cal) {
      threshold = det.fitThreshold({ strategy: 'target-fpr', fpr: 0.01 }, cal.sequences, {
        labels: cal.y,
        split: cal === calibration ? 'calibration' : 'validation',
      });
      if (bothClasses(cal)) {
        det.calibrate(cal.sequences, cal.y, config.calibration);
        probabilities = (s) => det.predictProba(s);
      }
    }
    score = (s) => det.score(s);
    save = (p) => det.save(p);
  }
  progress.stage(`evaluating on ${test.sequences.length} test sequences`);
  const t1 = performance.now();
  const scores = score(test.sequences);
  seconds.score = (performance.now() - t1) / 1000;
  const evaluation = binaryEvaluation(
    scores,
    test.y,
    threshold?.value ?? null,
    probabilities ? probabilities(test.sequences) : null,
  );
  await save(join(runDir, 'model.json'));
  return {
    history,
    report: {
      modelType: `ngram (${mode})`,
      datasetKind: 'sequences',
      scoreName:
        mode === 'classifier'
          ? 'P(anomalous)'
          : mode === 'stide'
            ? 'mismatch rate'
            : 'mean surprisal (bits/token)',
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
