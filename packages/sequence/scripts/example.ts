// The README's example: `pnpm --filter @anomalia/sequence example`. It imports the sources so it
// runs without a build; an application imports the same names from '@anomalia/sequence'.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DriftMonitor,
  generateSyntheticSamples,
  NGramClassifier,
  promoteModel,
  SequenceAnomalyDetector,
  unzipLabelled,
} from '../src/index';

// 1. Supervised: labelled sequences → calibrated probabilities.
const samples = generateSyntheticSamples(5000, { seed: 42 });
const [train, validation] = [samples.slice(0, 4000), samples.slice(4000)];
const clf = new NGramClassifier({ n: 3, anomalyThreshold: 0.3, epochs: 10, batchSize: 32 });
const { sequences, y } = unzipLabelled(train);
const report = await clf.fit(sequences, { y });
console.log('weights', report.weights);
console.log(clf.predictOne(['read', 'process', 'write']));
console.log(clf.predictOne(['read', 'delete', 'exfiltrate', 'cover_tracks']));
console.log(
  await clf.predict([
    ['read', 'process', 'write'],
    ['scan', 'exploit', 'inject'],
  ]),
);

// Promotion gate: ECE ≤ 0.08 and accuracy ≥ 0.85 → <root>/current/, else <root>/candidates/.
const root = await mkdtemp(join(tmpdir(), 'anomalia-models-'));
const promotion = await promoteModel(clf, validation, { outputRoot: root });
console.log(promotion.passed, promotion.destination, promotion.metrics.ece.toFixed(4));
const loaded = await NGramClassifier.load(promotion.modelPath);
console.log(loaded.predictOne(['scan', 'exploit', 'inject']).label);

// 2. Unsupervised: normal sequences only → surprisal scores, threshold on a calibration split.
const normal = samples.filter((s) => s.label === 0).map((s) => s.sequence);
const detector = new SequenceAnomalyDetector({ mode: 'language-model', order: 4 });
await detector.fit(normal.slice(0, 2000));
await detector.fitThreshold({ strategy: 'target-fpr', fpr: 0.01 }, normal.slice(2000, 3000), {
  split: 'calibration',
});
const probes = [
  ['read', 'process', 'write'],
  ['read', 'exfiltrate', 'write'],
];
console.log(await detector.score(probes));
console.log(await detector.predict(probes));

// 3. Streaming drift monitor.
const monitor = new DriftMonitor({ alertsPath: join(root, 'anomaly_alerts.jsonl') });
monitor.setBaseline(Array.from({ length: 500 }, (_, i) => (i % 30) / 100));
let alert = null;
for (let i = 0; i < 12 && !alert; i++) alert = monitor.recordAction('agent-7', 'retry', 0.2);
console.log(alert?.anomalyType, alert?.severity, alert?.anomalyScore);
