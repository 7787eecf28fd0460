/**
 * Benchmarks: the synthetic clinic's generation and the feature extraction.
 *   pnpm --filter @anomalia/features bench                 (100 000 records)
 *   pnpm --filter @anomalia/features bench -- --records 500000
 * Prints one JSON line per measurement.
 */

import { positiveIntegerFlag } from '@anomalia/core/testing';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import { createQa74Buffer, extractQa74, extractQa74Into, extractQaExtended } from '../src/index';

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return Number(((u.user + u.system) / 1e6).toFixed(4));
}

function report(name: string, records: number, seconds: number, extra: Record<string, unknown> = {}): void {
  const rate = records / seconds;
  console.log(
    JSON.stringify({
      name,
      records,
      seconds: Number(seconds.toFixed(4)),
      records_per_s: Math.round(rate),
      n: records,
      rows_per_s: Math.round(rate),
      ...extra,
    }),
  );
}

const N = positiveIntegerFlag('records', 100_000);
const seed = positiveIntegerFlag('seed', 1);

// Generation: the whole stream in batches of 5000, consumed as a bulk loader would (each batch
// dropped once handled), so the generator is measured, not the retention of 100k records.
// An untimed warm-up clinic of 5000 records lets the JIT compile first.
for (const _ of generateClinic({ seed: seed + 1, records: 5000 })) void _;
let t = performance.now();
let cpu = process.cpuUsage();
let generated = 0;
let controlPointRows = 0;
for (const batch of generateClinic({ seed, records: N, batchSize: 5000 })) {
  generated += batch.records.length;
  controlPointRows += batch.rows.TxFieldPoint.length;
}
report('generate', generated, (performance.now() - t) / 1000, {
  cpu_seconds: cpuSeconds(cpu),
  control_point_rows: controlPointRows,
});

// The records to extract from (untimed): the same clinic, kept in memory.
const records: TreatmentRecord[] = [];
for (const batch of generateClinic({ seed, records: N, batchSize: 5000 }))
  for (const r of batch.records) records.push(r);

// Extraction alone (records already in memory), one call over all records, output allocated
// by the call. A short untimed warm-up on 2000 records lets the JIT compile first.
const asOf = Date.UTC(2030, 0, 1);
extractQa74(records.slice(0, 2000), { asOf });
extractQaExtended(records.slice(0, 2000), { asOf });
t = performance.now();
cpu = process.cpuUsage();
const fm = extractQa74(records, { asOf });
const seconds74 = (performance.now() - t) / 1000;
const cpu74 = cpuSeconds(cpu);
const fields = new Set(records.map((r) => r.controlPoints)).size;
const cps = records.reduce((s, r) => s + r.controlPoints.length, 0);
report('extract74', fm.X.rows, seconds74, {
  cpu_seconds: cpu74,
  fields,
  mean_control_points: Number((cps / records.length).toFixed(1)),
});

t = performance.now();
cpu = process.cpuUsage();
const ext = extractQaExtended(records, { asOf });
report('extract_extended', ext.X.rows, (performance.now() - t) / 1000, {
  cpu_seconds: cpuSeconds(cpu),
  cols: ext.X.cols,
});

// Streaming: batches of 5000 into one reused buffer (what a monitor does), no fresh memory.
const buffer = createQa74Buffer(5000);
t = performance.now();
cpu = process.cpuUsage();
for (let i = 0; i < records.length; i += 5000)
  extractQa74Into(records.slice(i, i + 5000), buffer, 0, { asOf });
report('extract74_streaming', records.length, (performance.now() - t) / 1000, {
  cpu_seconds: cpuSeconds(cpu),
  batch: 5000,
});

// Worst case: every record with its own control-point array, so nothing is shared.
const sample = records
  .slice(0, Math.min(records.length, 20_000))
  .map((r) => ({ ...r, controlPoints: [...r.controlPoints] }));
t = performance.now();
cpu = process.cpuUsage();
extractQa74(sample, { asOf });
report('extract74_unshared', sample.length, (performance.now() - t) / 1000, {
  cpu_seconds: cpuSeconds(cpu),
  mean_control_points: Number(
    (sample.reduce((s, r) => s + r.controlPoints.length, 0) / sample.length).toFixed(1),
  ),
});
