/**
 * Parity of exported models: for each model kind and data set (the six ADBench sets and the
 * 74 QA features of a corrupted synthetic Mosaiq clinic), trains a small model with
 * @anomalia/neural, exports it, and prints one JSON line with the largest difference between
 * the tfjs scores and the onnxruntime scores over every row.
 *
 *   pnpm --filter @anomalia/onnx parity
 */
import { ADBENCH_SETS, adbench, mosaiqClinic } from '../src/test-support/data';
import { cleanUp, MODELS, parity } from '../src/test-support/parity';

const sets = [
  ...ADBENCH_SETS.map((name) => ({ name, load: () => adbench(name) })),
  { name: 'mosaiq-qa74', load: async () => mosaiqClinic() },
];
for (const set of sets) {
  const data = await set.load();
  for (const kind of MODELS) {
    const r = await parity(kind, data);
    console.log(
      JSON.stringify({
        name: 'parity',
        model: kind,
        data: set.name,
        rows: r.rows,
        cols: data.X.cols,
        max_abs: r.maxAbs,
        max_scaled: r.maxScaled,
        max_score: r.maxScore,
      }),
    );
    await cleanUp(r);
  }
}
