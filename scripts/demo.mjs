// A small end-to-end demo of @anomalia/core and @anomalia/severity, run by `pnpm start` until the
// train app exists: score planted anomalies, calibrate on a held-out split, triage by severity.
import { Calibrator, fitThreshold, metricsAtThreshold, plantedAnomalies, rocAuc, stratifiedSplit } from '@anomalia/core';
import { categorize, dailyReport, formatDailyReport, route } from '@anomalia/severity';

const { X, y } = plantedAnomalies(2000, 6, 42, 0.1);
const score = Float64Array.from({ length: X.rows }, (_, i) => Math.hypot(...X.row(i)));
const parts = stratifiedSplit(y, { calibration: 0.5, test: 0.5 }, 1);
const pick = (a, idx) => Float64Array.from(idx, (i) => a[i]);

const threshold = fitThreshold({ strategy: 'target-fpr', fpr: 0.01 }, pick(score, parts.calibration), {
  labels: pick(y, parts.calibration),
  split: 'calibration',
});
const calibrator = Calibrator.fit('isotonic', pick(score, parts.calibration), pick(y, parts.calibration));
const testScores = pick(score, parts.test);
const m = metricsAtThreshold(pick(y, parts.test), testScores, threshold.value);
console.log(`ROC-AUC ${rocAuc(pick(y, parts.test), testScores).toFixed(3)}, precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)} at FPR ≤ 1 %`);

// Map calibrated probabilities onto the 0–3 scale for triage.
const energies = Array.from(calibrator.predict(testScores), (p) => 3 * p);
console.log(formatDailyReport(dailyReport(energies), { date: new Date().toISOString().slice(0, 10) }));
const worst = Math.max(...energies);
console.log(`worst finding: energy ${worst.toFixed(2)} (${categorize(worst)}), action: ${route(worst).action}`);
