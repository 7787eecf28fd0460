/**
 * Benchmarks of the SQLite store, on a synthetic clinic written to a temporary file:
 *   load            bulk load (TrackTreatment rows per second; every table is loaded and indexed)
 *   list            listTreatments over the whole clinic, page by page (treatments per second)
 *   read            loadRecords of each page → TreatmentRecords (records per second)
 *   read+extract74  the same, then the 74-feature matrix of each page
 * Targets: load ≥ 50 000 TrackTreatment rows/s, read and read+extract74 ≥ 20 000 records/s.
 *   pnpm --filter @anomalia/db-sqlite bench                       (50 000 treatments)
 *   pnpm --filter @anomalia/db-sqlite bench -- --records 200000 --page 5000
 * Prints one JSON line per measurement.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { positiveIntegerFlag } from '@anomalia/core/testing';
import { extractQa74 } from '@anomalia/features';
import type { TableRows } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import { MosaiqLoader, openTreatmentReader, type SqliteTreatmentReader } from '../src/index';

/** Times `run` (wall and CPU seconds: on a shared machine the CPU time is the steadier number). */
function measure<R>(run: () => R): { result: R; seconds: number; cpu_seconds: number } {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const result = run();
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  return { result, seconds, cpu_seconds: Number(((used.user + used.system) / 1e6).toFixed(4)) };
}

function report(name: string, n: number, m: { seconds: number; cpu_seconds: number }, extra = {}): void {
  const rate = Math.round(n / m.seconds);
  console.log(
    JSON.stringify({
      name,
      n,
      seconds: Number(m.seconds.toFixed(4)),
      cpu_seconds: m.cpu_seconds,
      records_per_s: rate,
      rows_per_s: rate,
      ...extra,
    }),
  );
}

const N = positiveIntegerFlag('records', 50_000);
const page = positiveIntegerFlag('page', 5000);
const seed = positiveIntegerFlag('seed', 1);
const dir = mkdtempSync(join(tmpdir(), 'anomalia-db-sqlite-bench-'));

try {
  // The clinic, generated up front (untimed) so the load measures the database alone.
  const batches: TableRows[] = [];
  for (const b of generateClinic({ seed, records: N, batchSize: page })) batches.push(b.rows);
  const totalRows = batches.reduce((s, b) => s + Object.values(b).reduce((t, l) => t + l.length, 0), 0);

  // Warm-up (untimed): a small clinic loaded and read once, so the JIT has compiled the paths.
  const warm = join(dir, 'warm.sqlite');
  const wl = MosaiqLoader.create(warm);
  for (const b of generateClinic({ seed: seed + 1, records: 3000, batchSize: 1000 })) wl.load(b.rows);
  wl.finish();
  const wr = openTreatmentReader(warm);
  readAll(wr, listAll(wr, 1000), true);
  wr.closeSync();

  const path = join(dir, 'clinic.sqlite');
  const load = measure(() => {
    const loader = MosaiqLoader.create(path);
    for (const rows of batches) loader.load(rows);
    return loader.finish();
  });
  const summary = load.result;
  report('load', summary.rows.TrackTreatment, load, {
    unit: 'TrackTreatment rows',
    all_rows: totalRows,
    control_point_rows: summary.rows.TxFieldPoint,
    file_mb: Number((statSync(path).size / 1e6).toFixed(1)),
    target: 50_000,
  });

  const reader = openTreatmentReader(path);
  const list = measure(() => listAll(reader, page));
  const pages = list.result;
  report(
    'list',
    pages.reduce((n, p) => n + p.length, 0),
    list,
    { page, pages: pages.length },
  );
  const read = measure(() => readAll(reader, pages, false));
  report('read', read.result, read, { page, target: 20_000 });
  const extracted = measure(() => readAll(reader, pages, true));
  report('read+extract74', extracted.result, extracted, { page, target: 20_000 });
  reader.closeSync();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The TTX_IDs of every treatment of the clinic, page by page (listTreatments and its cursors). */
function listAll(reader: SqliteTreatmentReader, pageSize: number): number[][] {
  const from = new Date(Date.UTC(2000, 0, 1));
  const to = new Date(Date.UTC(2100, 0, 1));
  const pages: number[][] = [];
  let cursor: string | null = null;
  do {
    const listed = reader.listTreatmentsSync({ from, to, pageSize, cursor });
    pages.push(listed.items.map((i) => i.TTX_ID));
    cursor = listed.nextCursor;
  } while (cursor !== null);
  return pages;
}

/** Loads each page's records (and extracts their 74 features). Returns the number of records. */
function readAll(reader: SqliteTreatmentReader, pages: number[][], extract: boolean): number {
  const asOf = Date.UTC(2030, 0, 1);
  let n = 0;
  for (const ids of pages) {
    const { records } = reader.loadRecordsSync(ids);
    if (extract) extractQa74(records, { asOf });
    n += records.length;
  }
  return n;
}
