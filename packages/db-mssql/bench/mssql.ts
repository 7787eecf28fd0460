/**
 * Benchmark of the driver path: `mssql`/`tedious` over TCP to the TDS test server (in a child
 * process, on a synthetic clinic held in SQLite), measured from the client:
 *   load    createSandbox with the clinic (batched sp_executesql INSERTs; TrackTreatment rows/s)
 *   list    listTreatments over the whole clinic in pages (treatments/s)
 *   read    loadRecords of each page → TreatmentRecords (records/s)
 *   changes changesSince over every row (rows/s)
 *   pnpm --filter @anomalia/db-mssql bench                      (10 000 treatments, pages of 1000)
 *   pnpm --filter @anomalia/db-mssql bench -- --records 20000 --page 2000
 * Prints one JSON line per measurement: wall seconds and the client's CPU seconds.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { positiveIntegerFlag } from '@anomalia/core/testing';
import type { TableRows } from '@anomalia/mosaiq';
import { generateClinic } from '@anomalia/mosaiq/synthetic';
import { createSandbox, openTreatmentReader } from '../src/index';

async function measure<R>(
  run: () => Promise<R>,
): Promise<{ result: R; seconds: number; cpu_seconds: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const result = await run();
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

const N = positiveIntegerFlag('records', 10_000);
const page = positiveIntegerFlag('page', 1000);
const seed = positiveIntegerFlag('seed', 1);

const child = fork(fileURLToPath(new URL('./server-process.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { url } = await new Promise<{ url: string }>((resolve, reject) => {
  child.once('message', (m) => resolve(m as { url: string }));
  child.once('exit', (code) => reject(new Error(`the test server exited (${code})`)));
});

try {
  const rows: TableRows[] = [];
  for (const b of generateClinic({ seed, records: N, batchSize: page })) rows.push(b.rows);
  const load = await measure(async () => {
    let first = true;
    for (const r of rows) {
      if (first) await createSandbox(url, { confirm: true, rows: r, env: {} });
      else {
        // Later batches go through the same loader (marker checked, one transaction per batch).
        const { loadRows, MssqlClient, mssqlTarget } = await import('../src/index');
        const client = await MssqlClient.connect(mssqlTarget(url, { env: {} }), { role: 'writer' });
        const reader = await openTreatmentReader(url, { env: {} });
        await loadRows(client, 'dbo', reader.columns, r);
        await reader.close();
        await client.close();
      }
      first = false;
    }
  });
  const totalRows = rows.reduce((s, b) => s + Object.values(b).reduce((t, l) => t + l.length, 0), 0);
  report('load', N, load, { rows: totalRows });

  const reader = await openTreatmentReader(url, { env: {} });
  const from = new Date('2000-01-01T00:00:00Z');
  const to = new Date('2100-01-01T00:00:00Z');
  // Warm-up (untimed): one page read once, so the JIT has compiled the paths.
  const warm = await reader.listTreatments({ from, to, pageSize: page });
  await reader.loadRecords(warm.items.map((t) => t.TTX_ID));

  const list = await measure(async () => {
    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const p = await reader.listTreatments({ from, to, pageSize: page, cursor });
      pages.push(p.items.map((t) => t.TTX_ID));
      cursor = p.nextCursor;
    } while (cursor !== null);
    return pages;
  });
  report('list', N, list, { page });

  let points = 0;
  let requests = 0;
  const counting = await openTreatmentReader(url, { env: {}, onQuery: () => requests++ });
  const read = await measure(async () => {
    let n = 0;
    for (const ids of list.result) {
      const { records } = await counting.loadRecords(ids);
      n += records.length;
      for (const r of records) points += r.controlPoints.length;
    }
    return n;
  });
  report('read', read.result, read, { page, requests, control_points: points });

  const changes = await measure(async () => {
    let n = 0;
    let w: string | null = null;
    for (;;) {
      const p = await reader.changesSince(w, { limit: 5000 });
      n += p.items.length;
      w = p.watermark;
      if (!p.hasMore) return n;
    }
  });
  report('changes', changes.result, changes, { limit: 5000 });
  await counting.close();
  await reader.close();
} finally {
  child.disconnect();
}
