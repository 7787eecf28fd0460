import { rm } from 'node:fs/promises';
import type { Matrix, MatrixDetector } from '@anomalia/core';
import { exportOnnx, loadOnnxDetector } from '@anomalia/onnx';
import type { OnnxExportConfig } from '../config/schema';

/** How closely the ONNX export reproduces the model it was exported from, on the same rows. */
export interface OnnxParity {
  /** What the rows were: the run's test split, or rows drawn from the saved scaler's range. */
  rows: string;
  n: number;
  /** max |model − onnx| over the rows. */
  maxAbsDiff: number;
  /** max |model − onnx| / max(1, |model|): the quantity the tolerance bounds. */
  maxScaledDiff: number;
  /** The row where the scaled difference is largest, with both scores. */
  worst: { row: number; model: number; onnx: number };
  /** Largest score, for scale. */
  maxScore: number;
  tolerance: number;
  /** Decisions that differ for rows farther than the tolerance from the threshold (must be 0). */
  decisionsDiffer: number | null;
  /** max |model − onnx| of calibrated probabilities, when the model has a calibrator. */
  probabilityMaxAbsDiff: number | null;
  pass: boolean;
}

/** The ONNX artifact written beside a model, and its parity check. */
export interface OnnxExportRecord {
  /** The artifact directory (manifest.json + model.onnx). */
  path: string;
  sha256: string;
  bytes: number;
  inputType: 'float64' | 'float32';
  opset: number;
  parity: OnnxParity;
  seconds: number;
}

/**
 * Exports the saved model at `modelDir` to an "onnx" artifact at `out` (threshold and calibrator
 * carried over), then scores `X` with it on onnxruntime and compares with `model`'s own scores:
 * every row within `tolerance · max(1, |score|)`, the same decisions away from the threshold,
 * calibrated probabilities within the tolerance.
 */
export async function exportWithParity(
  modelDir: string,
  out: string,
  model: MatrixDetector,
  X: Matrix,
  settings: OnnxExportConfig,
  rows: string,
  modelScores?: Float64Array,
): Promise<OnnxExportRecord> {
  const t0 = performance.now();
  await rm(out, { recursive: true, force: true });
  const result = await exportOnnx(modelDir, out, { inputType: settings.inputType });
  const onnx = await loadOnnxDetector(out, { session: { intraOpNumThreads: 1 } });
  try {
    const expected = modelScores ?? (await model.score(X));
    const parity = compareScores(expected, await onnx.score(X), settings.tolerance, rows);
    const threshold = model.threshold?.value;
    if (threshold !== undefined) {
      const a = await model.predict(X);
      const b = await onnx.predict(X);
      let differ = 0;
      a.forEach((p, i) => {
        const near =
          Math.abs(expected[i]! - threshold) <= settings.tolerance * Math.max(1, Math.abs(threshold));
        if (p !== b[i] && !near) differ++;
      });
      parity.decisionsDiffer = differ;
    }
    if (model.calibrator) {
      const a = await model.predictProba(X);
      const b = await onnx.predictProba(X);
      let max = 0;
      a.forEach((p, i) => {
        max = Math.max(max, Math.abs(p - b[i]!));
      });
      parity.probabilityMaxAbsDiff = max;
    }
    parity.pass =
      parity.maxScaledDiff <= settings.tolerance &&
      (parity.decisionsDiffer ?? 0) === 0 &&
      (parity.probabilityMaxAbsDiff ?? 0) <= settings.tolerance;
    return {
      path: out,
      sha256: result.sha256,
      bytes: result.bytes,
      inputType: settings.inputType,
      opset: onnx.model.opset,
      parity,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await onnx.close();
  }
}

/** Row-by-row comparison of two score vectors (decisions and probabilities filled in by the caller). */
export function compareScores(
  model: Float64Array,
  onnx: Float64Array,
  tolerance: number,
  rows: string,
): OnnxParity {
  if (model.length !== onnx.length)
    throw new Error(`parity: ${model.length} model scores vs ${onnx.length} ONNX scores`);
  let maxAbs = 0;
  let maxScaled = -1;
  let worst = 0;
  let maxScore = 0;
  for (let i = 0; i < model.length; i++) {
    const d = Math.abs(model[i]! - onnx[i]!);
    const scaled = d / Math.max(1, Math.abs(model[i]!));
    if (d > maxAbs) maxAbs = d;
    if (scaled > maxScaled) {
      maxScaled = scaled;
      worst = i;
    }
    maxScore = Math.max(maxScore, Math.abs(model[i]!));
  }
  const pass = maxScaled <= tolerance;
  return {
    rows,
    n: model.length,
    maxAbsDiff: maxAbs,
    maxScaledDiff: Math.max(0, maxScaled),
    worst: { row: worst, model: model[worst] ?? Number.NaN, onnx: onnx[worst] ?? Number.NaN },
    maxScore,
    tolerance,
    decisionsDiffer: null,
    probabilityMaxAbsDiff: null,
    pass,
  };
}

/** One line for the run's summary and the gate's reasons. */
export function describeParity(p: OnnxParity): string {
  return `ONNX parity on ${p.rows} (${p.n} rows): max |Δscore| ${p.maxAbsDiff.toExponential(1)}, max |Δ|/max(1, |score|) ${p.maxScaledDiff.toExponential(1)} (tolerance ${p.tolerance.toExponential(0)})${
    p.decisionsDiffer !== null ? `, ${p.decisionsDiffer} decisions differ` : ''
  }${p.probabilityMaxAbsDiff !== null ? `, max |Δp| ${p.probabilityMaxAbsDiff.toExponential(1)}` : ''}: ${p.pass ? 'PASS' : 'FAIL'}`;
}
