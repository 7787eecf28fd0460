import { join } from 'node:path';
import type { FitReport, MatrixDetector } from '@anomalia/core';
import type { TrainConfig } from '../config/schema';
import type { MatrixData } from '../data/types';
import type { Progress } from '../progress';
import type { MatrixModel } from '../registry';
import type { ReportData } from '../report/types';
import { detectionByVariant } from './evaluate';
import { featureImportance } from './importance';
import { evaluateMatrixModel, fitMatrixModel } from './matrix-fit';

export interface MatrixRunResult {
  report: Omit<ReportData, 'title' | 'runId' | 'createdAt' | 'promotion'>;
  fit: FitReport;
  detector: MatrixDetector;
  /** True when the score is a severity energy and the severity gate applies. */
  graded: boolean;
  severityPass: boolean | null;
}

/** Fits, thresholds, calibrates and evaluates a matrix detector; saves its artifact into `<runDir>/model`. */
export async function runMatrixModel(
  config: TrainConfig,
  data: MatrixData,
  entry: MatrixModel,
  runDir: string,
  progress: Progress,
): Promise<MatrixRunResult> {
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      seconds[name] = (seconds[name] ?? 0) + (performance.now() - t0) / 1000;
    }
  };
  const { train, test, heldOut } = data.parts;
  const graded = entry.supervised && data.graded;

  progress.stage(`training ${config.model.type} on ${train.X.rows} rows × ${train.X.cols} features`);
  // Threshold and calibration follow fit as explicit steps on held-out splits, never the test split.
  const model = await fitMatrixModel(config, entry, data.parts, {
    graded,
    featureNames: data.featureNames,
    seed: config.seed,
    timed,
    onStage: (text) => progress.stage(text),
    onProgress: (e) =>
      progress.step(
        'epochs',
        e.step,
        e.total,
        e.metrics
          ? Object.entries(e.metrics)
              .filter(([k]) => k !== 'epoch')
              .map(([k, v]) => `${k} ${v.toFixed(4)}`)
              .join(' ')
          : undefined,
      ),
  });
  const { detector, fit, threshold } = model;

  progress.stage(`evaluating on the test split (${test.X.rows} rows)`);
  const {
    scores,
    binary: evaluation,
    severity,
    metrics,
  } = await evaluateMatrixModel(model, data.parts, graded, timed);
  const predicted = threshold ? await detector.predict(test.X) : null;
  const heldOutPredicted = threshold && heldOut ? await detector.predict(heldOut.X) : null;
  const importance = await timed('importance', () =>
    featureImportance(detector, test.X, data.featureNames, config.seed),
  );
  let timeline: ReportData['timeline'];
  if (data.timeline) {
    const s = await detector.score(data.timeline.X);
    timeline = Array.from(s, (score, i) => ({
      t: data.timeline!.t[i]!,
      score,
      ...(data.timeline!.y ? { label: data.timeline!.y[i] as 0 | 1 } : {}),
    }));
  }
  await timed('save', () => detector.save(join(runDir, 'model'), { metrics }));
  const history = (fit.history ?? []).map((h, i) => ({ epoch: i + 1, ...h }));

  return {
    detector,
    fit,
    graded,
    severityPass: severity ? severity.severity!.pass : null,
    report: {
      modelType: config.model.type,
      datasetKind: config.dataset.kind,
      scoreName: entry.scoreName,
      backend: typeof fit.backend === 'string' ? fit.backend : undefined,
      seconds,
      metrics,
      threshold: threshold?.value ?? null,
      thresholdStrategy: threshold
        ? `${threshold.strategy.strategy} on the ${threshold.split} split`
        : undefined,
      history,
      test: Array.from(scores, (score, i) => ({
        score,
        label: (test.y?.[i] ?? 0) as 0 | 1,
        severity: test.target?.[i],
      })),
      confusion: severity?.confusion ?? evaluation.confusion,
      roc: evaluation.roc,
      pr: evaluation.pr,
      severity: severity?.severity,
      featureImportance: importance.values.slice(0, 20),
      featureImportanceMethod: importance.method,
      detection:
        test.meta && predicted
          ? [
              ...detectionByVariant(test.meta, predicted),
              ...(heldOut?.meta && heldOutPredicted
                ? detectionByVariant(heldOut.meta, heldOutPredicted)
                : []),
            ]
          : undefined,
      timeline,
      timelineAxis: data.timeline?.axis,
      notes: data.notes,
    },
  };
}
