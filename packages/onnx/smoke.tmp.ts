import { loadCsv } from '@anomalia/core';
import { AutoEncoder, EnergyModel, VariationalAutoEncoder } from '@anomalia/neural';
import { exportOnnx, loadOnnxDetector } from './src/index';

const data = await loadCsv('/work/shared/data/tabular/cardio.csv', { labelColumn: 'label' });
const names = data.featureNames;
for (const [name, model, y] of [
  ['ebm', new EnergyModel({ epochs: 5, seed: 1 }), data.y],
  ['ae', new AutoEncoder({ epochs: 5, seed: 1 }), undefined],
  ['vae', new VariationalAutoEncoder({ epochs: 5, seed: 1 }), undefined],
] as const) {
  let t = performance.now();
  await model.fit(data.X, { y: y as Float64Array | undefined, featureNames: names });
  console.log(name, 'fit', (performance.now() - t) / 1000);
  await model.save(`/tmp/onnx-smoke/${name}`);
  const res = await exportOnnx(`/tmp/onnx-smoke/${name}`, `/tmp/onnx-smoke/${name}.onnx`);
  console.log(res);
  const det = await loadOnnxDetector(`/tmp/onnx-smoke/${name}.onnx`, { session: { intraOpNumThreads: 1 } });
  t = performance.now();
  const a = await model.score(data.X);
  const b = await det.score(data.X);
  let m = 0,
    mr = 0,
    amax = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    mr = Math.max(mr, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
    amax = Math.max(amax, Math.abs(a[i]!));
  }
  console.log(
    name,
    'maxabs',
    m,
    'maxrel',
    mr,
    'max|score|',
    amax,
    det.threshold?.value,
    model.threshold?.value,
  );
  await det.close();
}
