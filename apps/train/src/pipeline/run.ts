import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MODEL_COMPANION_FILES } from '@anomalia/qa-workflow';
import { ConfigError } from '../config/load';
import type { ModelType, TrainConfig } from '../config/schema';
import { prepareData } from '../data/prepare';
import type { Progress } from '../progress';
import { REGISTRY } from '../registry';
import { renderReport } from '../report/render';
import type { CrossValidationReport, ReportData, SplitViewReport } from '../report/types';
import {
  crossValidateMatrix,
  crossValidateSequences,
  crossValidationGate,
  evaluateViews,
  separationsPass,
} from './cross-validation';
import { runMatrixModel } from './matrix';
import { release } from './matrix-fit';
import { describeParity, exportWithParity, type OnnxExportRecord } from './onnx-export';
import { type OnnxModelInfo, type OpenedOnnxModel, openOnnxModel } from './onnx-model';
import { applyGate, type GateKind, type GateResult, gateKind, promote } from './promote';
import { runSequenceModel } from './sequence';

export interface RunResult {
  runId: string;
  runDir: string;
  reportPath: string;
  metrics: Record<string, number | undefined>;
  promotion: { promoted: boolean; destination: string; reasons: string[] };
  crossValidation?: CrossValidationReport;
  splitViews?: SplitViewReport[];
  summary: string[];
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

const timestamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** A new run directory; runs started in the same second get -2, -3, … (never share a sandbox or report). */
async function createRunDir(runsDir: string, base: string): Promise<{ runId: string; runDir: string }> {
  await mkdir(runsDir, { recursive: true });
  for (let k = 1; ; k++) {
    const runId = k === 1 ? base : `${base}-${k}`;
    const runDir = join(runsDir, runId);
    try {
      await mkdir(runDir);
      return { runId, runDir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Runs one configuration end to end and writes everything into `runs/<time>-<name>/`. A run that
 * fails leaves no empty directory behind: one holding nothing is removed, one holding partial
 * output gets `failed.json` (the error), so it is never taken for a finished run.
 */
export async function runTraining(
  config: TrainConfig,
  progress: Progress,
  options: { cwd?: string } = {},
): Promise<RunResult> {
  const started = new Date();
  const cwd = options.cwd ?? process.cwd();
  // An ONNX model is opened (validated, its settings checked) before anything is written.
  const opened: OpenedOnnxModel | null =
    config.model.type === 'onnx' ? await openOnnxModel(config.model, config, cwd) : null;
  const entry = opened ? opened.entry : REGISTRY[config.model.type as Exclude<ModelType, 'onnx'>];
  const expected = entry.input === 'sequences' ? 'sequences' : 'mosaiq, tabular or timeseries';
  if ((entry.input === 'sequences') !== (config.dataset.kind === 'sequences')) {
    await opened?.close();
    throw new ConfigError(
      'dataset.kind',
      `${expected} for model.type "${config.model.type}", got "${config.dataset.kind}"`,
    );
  }
  let created: Awaited<ReturnType<typeof createRunDir>>;
  try {
    created = await createRunDir(resolve(cwd, config.output.runsDir), `${timestamp(started)}-${config.name}`);
  } catch (e) {
    await opened?.close();
    throw e;
  }
  const { runId, runDir } = created;
  try {
    return await runInto(config, progress, options, { runId, runDir, started, entry, opened });
  } catch (error) {
    await leaveFailedRun(runDir, error);
    throw error;
  }
}

/** After a failure: removes the run directory when empty, else records why it failed. */
async function leaveFailedRun(runDir: string, error: unknown): Promise<void> {
  try {
    if ((await readdir(runDir)).length === 0) await rmdir(runDir);
    else {
      await writeFile(
        join(runDir, 'failed.json'),
        `${JSON.stringify({ failedAt: new Date().toISOString(), error: (error as Error)?.message ?? String(error) }, null, 2)}\n`,
      );
    }
  } catch {
    // The original error matters more than the clean-up's.
  }
}

/** The run itself, once its directory exists; `opened` (an ONNX model) is closed here. */
async function runInto(
  config: TrainConfig,
  progress: Progress,
  options: { cwd?: string },
  run: {
    runId: string;
    runDir: string;
    started: Date;
    entry: OpenedOnnxModel['entry'] | (typeof REGISTRY)[Exclude<ModelType, 'onnx'>];
    opened: OpenedOnnxModel | null;
  },
): Promise<RunResult> {
  const { runId, runDir, started, entry, opened } = run;

  progress.stage(`preparing ${config.dataset.kind} data`);
  const t0 = performance.now();
  let data: Awaited<ReturnType<typeof prepareData>>;
  try {
    data = await prepareData(config, runDir, progress);
  } catch (e) {
    await opened?.close();
    throw e;
  }
  const prepareSeconds = (performance.now() - t0) / 1000;

  let report: Omit<ReportData, 'title' | 'runId' | 'createdAt' | 'promotion'>;
  let gate: GateResult;
  let kind: GateKind;
  let history: unknown;
  let extra: Record<string, unknown> = {};
  let crossValidation: CrossValidationReport | undefined;
  let splitViews: SplitViewReport[] | undefined;
  let onnxExport: OnnxExportRecord | undefined;
  const folds = config.evaluation.folds;
  try {
    if (data.kind === 'sequences') {
      if (entry.input !== 'sequences') throw new Error('unreachable: checked above');
      const r = await runSequenceModel(config, data, entry, runDir, progress);
      report = r.report;
      history = r.history;
      kind = gateKind(config.promotion.gate, { graded: false, supervised: r.supervised });
      gate = applyGate(kind, report.metrics, null, config.promotion);
      if (folds)
        crossValidation = await crossValidateSequences(config, data, entry, r.params, folds, progress);
    } else {
      if (entry.input !== 'matrix') throw new Error('unreachable: checked above');
      opened?.checkFeatures(data.featureNames);
      const r = await runMatrixModel(config, data, entry, runDir, progress);
      report = r.report;
      history = r.fit.history;
      kind = gateKind(config.promotion.gate, { graded: r.graded, supervised: entry.supervised });
      gate = applyGate(kind, report.metrics, separationsPass(report.severity?.checks), config.promotion);
      if (opened) {
        report.notes = [
          ...(report.notes ?? []),
          ...evaluationOnlyNotes(opened.info, config, data.parts.train.X.rows),
        ];
        await release(r.detector);
      }
      if (config.export.onnx) {
        progress.stage('exporting to ONNX and checking its scores on the test split');
        onnxExport = await exportWithParity(
          join(runDir, 'model'),
          join(runDir, 'onnx'),
          r.detector,
          data.parts.test.X,
          config.export.onnx,
          'the test split',
          Float64Array.from(report.test, (t) => t.score),
        );
        report.seconds.onnx_export = onnxExport.seconds;
        // An export that does not score as the model is not the same model: it is not promoted.
        if (!onnxExport.parity.pass)
          gate = { promoted: false, reasons: [...gate.reasons, describeParity(onnxExport.parity)] };
      }
      if (r.detector.scaler)
        await writeFile(
          join(runDir, 'scaler.json'),
          `${JSON.stringify(r.detector.scaler.toJSON(), null, 2)}\n`,
        );
      await writeFile(join(runDir, 'features.txt'), `${data.featureNames.join('\n')}\n`);
      if (data.views?.length) {
        splitViews = [
          {
            name: data.split?.by === 'time' ? 'prospective (time split)' : 'random split',
            description: data.split?.description ?? '',
            main: true,
            metrics: report.metrics,
            ...(report.severity ? { severityPass: report.severity.pass } : {}),
          },
          ...(await evaluateViews(config, data, entry, r.graded, progress)),
        ];
      }
      if (folds) crossValidation = await crossValidateMatrix(config, data, entry, r.graded, folds, progress);
    }
  } finally {
    await opened?.close();
    if (data.finish) extra = await data.finish();
  }
  if (crossValidation) {
    const g = crossValidationGate(crossValidation, kind, config.promotion);
    if (g) {
      crossValidation.gate = g;
      gate = { promoted: gate.promoted && g.promoted, reasons: [...gate.reasons, ...g.reasons] };
    }
  }
  report.split = data.split;
  report.crossValidation = crossValidation;
  report.splitViews = splitViews;
  for (const [name, body] of Object.entries(data.files ?? {})) await writeFile(join(runDir, name), body);
  report.seconds = { prepare: prepareSeconds, ...report.seconds };

  const modelPath = join(runDir, 'model');
  const modelsDir = resolve(options.cwd ?? process.cwd(), config.promotion.modelsDir);
  const onnx = onnxSummary(opened?.info, onnxExport);
  report.onnx = onnx;
  // The files a model is used with travel with it (the monitor checks tables and drift against them).
  const companions = Object.values(MODEL_COMPANION_FILES)
    .map((f) => join(runDir, f))
    .filter((f) => existsSync(f));
  const destination = await promote(modelPath, config.name, runId, modelsDir, gate, report.metrics, {
    companions,
    ...(onnxExport ? { dirs: { onnx: onnxExport.path } } : {}),
    ...(onnx
      ? {
          record: {
            onnx: onnxPromotionRecord(
              onnx,
              config.model.type === 'ebm' && data.kind === 'matrix' && data.graded,
            ),
          },
        }
      : {}),
  });
  const promotion = { ...gate, destination };
  const full: ReportData = {
    ...report,
    title: `Anomalia training report: ${config.name}`,
    runId,
    createdAt: started.toISOString(),
    promotion,
  };
  const reportPath = join(runDir, 'report.html');
  await writeFile(reportPath, await renderReport(full));
  await writeFile(
    join(runDir, 'run.json'),
    `${JSON.stringify(
      {
        runId,
        config,
        commit: gitCommit(),
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        backend: report.backend ?? 'javascript',
        timings: report.seconds,
        metrics: report.metrics,
        threshold: { value: report.threshold, strategy: report.thresholdStrategy },
        history,
        severity: report.severity,
        detection: report.detection,
        featureImportance: report.featureImportance,
        promotion,
        gate: kind,
        split: data.split,
        crossValidation,
        splitViews,
        notes: report.notes,
        ...(onnx ? { onnx } : {}),
        ...extra,
      },
      null,
      2,
    )}\n`,
  );
  progress.done();
  const m = report.metrics;
  const f = (k: string) => (m[k] === undefined ? 'n/a' : (m[k] as number).toFixed(3));
  const summary = [
    `run ${runId}`,
    `test: ROC-AUC ${f('roc_auc')}, AP ${f('average_precision')}, F1 ${f('f1')}, accuracy ${f('accuracy')}${m.ece !== undefined ? `, ECE ${f('ece')}` : ''}${m.roc_auc === undefined && m.flagged_fraction !== undefined ? `, flagged ${f('flagged_fraction')}` : ''}${m.normal_alarm_rate !== undefined ? `, alarm rate on held-out normal data ${f('normal_alarm_rate')}` : ''}`,
    ...(m.severity_mae !== undefined
      ? [
          `severity: MAE ${f('severity_mae')}, category accuracy ${f('category_accuracy')}, binary accuracy ${f('binary_accuracy')}, calibration ${report.severity?.pass ? 'PASS' : 'FAIL'}`,
        ]
      : []),
    ...(report.detection?.some((d) => d.heldOut)
      ? [
          `held-out variants: ${report.detection
            .filter((d) => d.heldOut)
            .map((d) => `${d.mode}/${d.variant} ${(d.rate * 100).toFixed(0)} %`)
            .join(', ')}`,
        ]
      : []),
    ...(crossValidation ? [crossValidationSummary(crossValidation)] : []),
    ...(onnxExport
      ? [
          `ONNX export: ${onnxExport.path} (sha256 ${onnxExport.sha256.slice(0, 12)}…)`,
          describeParity(onnxExport.parity),
        ]
      : []),
    ...(opened
      ? [
          `evaluated without fitting: ${opened.info.path} (${opened.info.source}, sha256 ${opened.info.sha256.slice(0, 12)}…)`,
        ]
      : []),
    ...(splitViews ?? []).map(
      (v) =>
        `${v.name}: ROC-AUC ${g(v.metrics.roc_auc)}${v.metrics.severity_mae !== undefined ? `, MAE ${g(v.metrics.severity_mae)}, category accuracy ${g(v.metrics.category_accuracy)}, binary accuracy ${g(v.metrics.binary_accuracy)}` : `, AP ${g(v.metrics.average_precision)}`}${v.metrics.ece !== undefined ? `, ECE ${g(v.metrics.ece)}` : ''}`,
    ),
    `${promotion.promoted ? 'promoted to' : 'candidate (not promoted):'} ${destination}${promotion.reasons.length ? ` (${promotion.reasons.join('; ')})` : ''}`,
    `report: ${reportPath}`,
  ];
  return {
    runId,
    runDir,
    reportPath,
    metrics: report.metrics,
    promotion,
    crossValidation,
    splitViews,
    summary,
  };
}

const g = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));

/** One line: the gated metrics as mean ± sd over the folds. */
function crossValidationSummary(cv: CrossValidationReport): string {
  const wanted = [
    'roc_auc',
    'average_precision',
    'severity_mae',
    'category_accuracy',
    'binary_accuracy',
    'ece',
    'normal_alarm_rate',
  ];
  const parts = wanted.flatMap((name) => {
    const m = cv.metrics.find((x) => x.name === name);
    return m?.mean == null ? [] : [`${name} ${m.mean.toFixed(3)} ± ${(m.sd ?? 0).toFixed(3)}`];
  });
  return `cross-validation (${cv.folds} folds): ${parts.join(', ')}${cv.gate ? `; gate on ${cv.bound.label}: ${cv.gate.promoted ? 'PASS' : 'FAIL'}` : ''}`;
}

/** What the report and run.json say about ONNX: the model evaluated, or the export written. */
function onnxSummary(
  evaluated: OnnxModelInfo | undefined,
  exported: OnnxExportRecord | undefined,
): ReportData['onnx'] {
  if (!evaluated && !exported) return undefined;
  return {
    ...(evaluated ? { evaluated } : {}),
    ...(exported ? { export: { ...exported, path: 'onnx' } } : {}),
  };
}

/**
 * promotion.json's `onnx`: where the promoted ONNX model is (`model/` when an ONNX model was
 * evaluated, `onnx/` beside a trained model's artifact), its sha256, whether its scores are 0–3
 * severities, and the export's parity check.
 */
function onnxPromotionRecord(onnx: NonNullable<ReportData['onnx']>, exportedSeverities: boolean) {
  if (onnx.evaluated) {
    const m = onnx.evaluated;
    return { dir: 'model', sha256: m.sha256, source: m.source, scoresAreSeverities: m.scoresAreSeverities };
  }
  const e = onnx.export!;
  return { dir: 'onnx', sha256: e.sha256, scoresAreSeverities: exportedSeverities, parity: e.parity };
}

/** Notes of an evaluation-only run: what was evaluated, and that nothing was fitted. */
function evaluationOnlyNotes(info: OnnxModelInfo, config: TrainConfig, trainRows: number): string[] {
  const threshold =
    config.threshold?.strategy === 'model'
      ? `the model's own threshold (${info.carried.threshold}) was kept`
      : "the threshold was chosen on this data set's validation / calibration parts";
  const calibration =
    config.calibration === 'model'
      ? `its own ${info.carried.calibrator} calibrator was kept`
      : 'the calibration was fitted on the calibration part';
  return [
    `Evaluation only: ${info.path} (${info.form === 'artifact' ? 'onnx artifact' : 'ONNX file'}, ${info.source === 'external' ? 'made elsewhere' : `exported from ${info.source}`}, producer ${info.producer || 'unknown'}, opset ${info.opset}, sha256 ${info.sha256}) was scored on onnxruntime-node and not fitted: the ${trainRows} rows of the train part were not used${config.threshold?.strategy === 'contamination' ? ', except as the reference scores of the contamination threshold' : ''}${config.dataset.kind === 'mosaiq' ? ' (dataset.bandMargin, which moves training targets, has no effect)' : ''}.`,
    `Its ${info.featureNames.length} input columns are ${info.featureNamesFrom === 'model' ? "the model's own feature names" : 'model.featureNames'}, matched to the data set's features in order.`,
    `${threshold[0]!.toUpperCase()}${threshold.slice(1)} and ${calibration}; the test part was only evaluated.`,
  ];
}
