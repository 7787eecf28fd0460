import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/load';
import type { TrainConfig } from '../config/schema';
import { prepareData } from '../data/prepare';
import type { Progress } from '../progress';
import { REGISTRY } from '../registry';
import { renderReport } from '../report/render';
import type { ReportData } from '../report/types';
import { runMatrixModel } from './matrix';
import { classifierGate, type GateResult, promote, severityGate } from './promote';
import { runSequenceModel } from './sequence';

export interface RunResult {
  runId: string;
  runDir: string;
  reportPath: string;
  metrics: Record<string, number | undefined>;
  promotion: { promoted: boolean; destination: string; reasons: string[] };
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
  const entry = REGISTRY[config.model.type];
  const expected = entry.input === 'sequences' ? 'sequences' : 'mosaiq, tabular or timeseries';
  if ((entry.input === 'sequences') !== (config.dataset.kind === 'sequences')) {
    throw new ConfigError(
      'dataset.kind',
      `${expected} for model.type "${config.model.type}", got "${config.dataset.kind}"`,
    );
  }
  const { runId, runDir } = await createRunDir(
    resolve(options.cwd ?? process.cwd(), config.output.runsDir),
    `${timestamp(started)}-${config.name}`,
  );
  try {
    return await runInto(config, progress, options, { runId, runDir, started, entry });
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

async function runInto(
  config: TrainConfig,
  progress: Progress,
  options: { cwd?: string },
  run: { runId: string; runDir: string; started: Date; entry: (typeof REGISTRY)[keyof typeof REGISTRY] },
): Promise<RunResult> {
  const { runId, runDir, started, entry } = run;

  progress.stage(`preparing ${config.dataset.kind} data`);
  const t0 = performance.now();
  const data = await prepareData(config, runDir, progress);
  const prepareSeconds = (performance.now() - t0) / 1000;

  let report: Omit<ReportData, 'title' | 'runId' | 'createdAt' | 'promotion'>;
  let gate: GateResult;
  let history: unknown;
  let extra: Record<string, unknown> = {};
  try {
    if (data.kind === 'sequences') {
      if (entry.input !== 'sequences') throw new Error('unreachable: checked above');
      const r = await runSequenceModel(config, data, entry, runDir, progress);
      report = r.report;
      history = r.history;
      gate = classifierGate(report.metrics, config.promotion.classifier);
    } else {
      if (entry.input !== 'matrix') throw new Error('unreachable: checked above');
      const r = await runMatrixModel(config, data, entry, runDir, progress);
      report = r.report;
      history = r.fit.history;
      gate = r.graded
        ? severityGate(report.metrics, r.severityPass, config.promotion.severity)
        : classifierGate(report.metrics, config.promotion.classifier);
      if (r.detector.scaler)
        await writeFile(
          join(runDir, 'scaler.json'),
          `${JSON.stringify(r.detector.scaler.toJSON(), null, 2)}\n`,
        );
      await writeFile(join(runDir, 'features.txt'), `${data.featureNames.join('\n')}\n`);
    }
  } finally {
    if (data.finish) extra = await data.finish();
  }
  for (const [name, body] of Object.entries(data.files ?? {})) await writeFile(join(runDir, name), body);
  report.seconds = { prepare: prepareSeconds, ...report.seconds };

  const modelPath = join(runDir, 'model');
  const modelsDir = resolve(options.cwd ?? process.cwd(), config.promotion.modelsDir);
  const destination = await promote(modelPath, config.name, runId, modelsDir, gate, report.metrics);
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
        notes: report.notes,
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
    `test: ROC-AUC ${f('roc_auc')}, AP ${f('average_precision')}, F1 ${f('f1')}, accuracy ${f('accuracy')}${m.ece !== undefined ? `, ECE ${f('ece')}` : ''}`,
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
    `${promotion.promoted ? 'promoted to' : 'candidate (not promoted):'} ${destination}${promotion.reasons.length ? ` (${promotion.reasons.join('; ')})` : ''}`,
    `report: ${reportPath}`,
  ];
  return { runId, runDir, reportPath, metrics: report.metrics, promotion, summary };
}
