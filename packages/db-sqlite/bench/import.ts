/**
 * Benchmark of anomalia-import: a synthetic clinic written as pymedphys-format CSV files (untimed),
 * then `importExtract` of the directory (timed: streaming, parsing, validating, loading, duplicate
 * checks, indexing). Target: ≥ 20 000 rows/s over all tables (control points are most of them).
 *   pnpm --filter @anomalia/db-sqlite bench                  (20 000 treatments)
 *   pnpm --filter @anomalia/db-sqlite exec tsx bench/import.ts --records 100000
 * Prints one JSON line.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyTableRows, formatMosaiqCsv, TABLE_NAMES } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import { importExtract } from '../src/index';

const i = process.argv.indexOf('--records');
const N = i < 0 ? 20_000 : Number(process.argv[i + 1]);
if (!Number.isInteger(N) || N < 1)
  throw new Error(`--records: expected a positive integer, got ${process.argv[i + 1]}`);
const dir = mkdtempSync(join(tmpdir(), 'anomalia-import-bench-'));
try {
  const rows = emptyTableRows();
  for (const batch of generateClinic({ seed: 1, records: N }))
    for (const t of TABLE_NAMES) for (const r of batch.rows[t]) (rows[t] as unknown[]).push(r);
  const extract = join(dir, 'extract');
  mkdirSync(extract);
  let bytes = 0;
  let n = 0;
  for (const t of TABLE_NAMES) {
    const text = formatMosaiqCsv(t, rows[t]);
    writeFileSync(join(extract, `${t}.csv`), text);
    bytes += Buffer.byteLength(text);
    n += rows[t].length;
  }
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const summary = await importExtract(extract, join(dir, 'clinic.sqlite'));
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({
      name: 'import',
      n,
      seconds: Number(seconds.toFixed(4)),
      cpu_seconds: Number(((used.user + used.system) / 1e6).toFixed(4)),
      rows_per_s: Math.round(n / seconds),
      mb_per_s: Number((bytes / 1e6 / seconds).toFixed(1)),
      treatments: N,
      control_points: rows.TxFieldPoint.length,
      csv_mb: Number((bytes / 1e6).toFixed(1)),
      database_mb: Number((statSync(summary.out).size / 1e6).toFixed(1)),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
