/**
 * Benchmark of the threaded reader against the direct one, on a synthetic clinic (written untimed):
 * loadRecords of up to `--batches` batches of `--batch` TrackTreatment ids (non-QA, in listing order),
 * the way the monitor reads a change batch. (The synthetic clinic marks only about a fifth of its
 * treatments WasBeamComplete, so completed-only batches of 10 000 would need a clinic of 500 000.)
 *   direct-load                SqliteTreatmentReader.loadRecords, batch after batch
 *   threaded-load              openThreadedTreatmentReader's loadRecords, batch after batch
 *   direct-load+extract74      each batch loaded, then its 74 features extracted
 *   threaded-pipelined+extract74  the next batch is read in the thread while this one is extracted
 * The main thread's share, two ways: `main_thread_cpu_seconds`, its own CPU time (Linux
 * /proc/self/task/<pid>/stat, in 10 ms ticks), and `main_thread_busy_seconds`, the wall time its
 * event loop was busy (eventLoopUtilization's `active`, which also counts time the thread waited
 * for a core: on a loaded machine the worker competes with it). `cpu_seconds` is
 * process.cpuUsage, which counts every thread.
 *   pnpm --filter @anomalia/db-sqlite exec tsx bench/thread.ts [--records 100000 --batch 10000 --batches 10]
 * Prints one JSON line per measurement.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { positiveIntegerFlag } from '@anomalia/core/testing';
import { extractQa74 } from '@anomalia/features';
import type { LoadedRecords } from '@anomalia/mosaiq';
import { createClinicDatabase, openThreadedTreatmentReader, openTreatmentReader } from '../src/index';

const N = positiveIntegerFlag('records', 100_000);
const batch = positiveIntegerFlag('batch', 10_000);
const batchCount = positiveIntegerFlag('batches', 10);
const asOf = Date.UTC(2030, 0, 1);

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds of this process's main thread (its task id is the process id). */
function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function measure(name: string, batches: number[][], run: () => Promise<number>): Promise<void> {
  const elu = performance.eventLoopUtilization();
  const main = mainThreadCpu();
  const cpu = process.cpuUsage();
  const t = performance.now();
  const n = await run();
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const busy = performance.eventLoopUtilization(elu);
  const mainCpu = mainThreadCpu() - main;
  console.log(
    JSON.stringify({
      name,
      n,
      seconds: Number(seconds.toFixed(4)),
      main_thread_cpu_seconds: Number(mainCpu.toFixed(2)),
      main_thread_busy_seconds: Number((busy.active / 1000).toFixed(4)),
      cpu_seconds: Number(((used.user + used.system) / 1e6).toFixed(4)),
      rows_per_s: Math.round(n / seconds),
      batches: batches.length,
      batch,
    }),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'anomalia-db-sqlite-thread-bench-'));
try {
  const path = join(dir, 'clinic.sqlite');
  createClinicDatabase(path, { seed: 1, records: N });
  const direct = openTreatmentReader(path);
  const threaded = await openThreadedTreatmentReader(path);

  const batches: number[][] = [];
  let cursor: string | null = null;
  do {
    const page = direct.listTreatmentsSync({
      from: new Date(Date.UTC(2000, 0, 1)),
      to: new Date(Date.UTC(2100, 0, 1)),
      pageSize: batch,
      cursor,
      qaMode: 'exclude',
    });
    batches.push(page.items.map((i) => i.TTX_ID));
    cursor = page.nextCursor;
  } while (cursor !== null && batches.length < batchCount);

  // Warm-up (untimed): both paths compiled, both page caches filled.
  for (const ids of batches) {
    direct.loadRecordsSync(ids);
    await threaded.loadRecords(ids);
  }
  extractQa74(direct.loadRecordsSync(batches[0]!).records, { asOf });

  const count = (loaded: LoadedRecords) => loaded.records.length;
  await measure('direct-load', batches, async () => {
    let n = 0;
    for (const ids of batches) n += count(await direct.loadRecords(ids));
    return n;
  });
  await measure('threaded-load', batches, async () => {
    let n = 0;
    for (const ids of batches) n += count(await threaded.loadRecords(ids));
    return n;
  });
  await measure('direct-load+extract74', batches, async () => {
    let n = 0;
    for (const ids of batches) {
      const { records } = await direct.loadRecords(ids);
      extractQa74(records, { asOf });
      n += records.length;
    }
    return n;
  });
  await measure('threaded-pipelined+extract74', batches, async () => {
    let n = 0;
    let next = threaded.loadRecords(batches[0]!);
    for (let i = 0; i < batches.length; i++) {
      const { records } = await next;
      if (i + 1 < batches.length) next = threaded.loadRecords(batches[i + 1]!);
      extractQa74(records, { asOf });
      n += records.length;
    }
    return n;
  });
  await threaded.close();
  direct.closeSync();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
