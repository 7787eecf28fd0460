/**
 * Probe campaign, crashes: kills writers with SIGKILL at random moments and checks what a user
 * would then meet. Prints one JSON line per probe family:
 *   { area, probe, tried, handled, dataChanged, notes }
 * handled: every read-only entry point worked afterwards (or, where Anomalia must not write,
 * refused with the command to run), integrity_check passed, the run was all-or-nothing;
 * dataChanged: the Mosaiq tables (after restoring every run) or a file that must not be touched
 * differ from before.
 *
 *   tsx scripts/probe-crash.ts [--kills 40] [--seed 1]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Rng } from '@anomalia/core';
import type { Change } from '@anomalia/mosaiq';
import { tableChecksum } from '../src/checksum';
import { createClinicDatabase } from '../src/loader';
import { openMonitorStore } from '../src/monitor-store/store';
import { openTreatmentReader } from '../src/reader';
import { runRecoverCli } from '../src/recover-cli';
import { HotJournalError } from '../src/recovery';
import { cloneAsSandbox, createSandbox, isSandbox, sandboxInfo } from '../src/sandbox';
import { gantryChanges, integrityCheck, readOnlyOpenFails, runAndKill } from '../src/test-support/crash';
import { fileFingerprint, tempDir } from '../src/testing/fixtures';
import { openSandboxWriter } from '../src/writer';

const { values } = parseArgs({
  options: { kills: { type: 'string', default: '40' }, seed: { type: 'string', default: '1' } },
});
const kills = Number(values.kills);
const rng = new Rng(Number(values.seed));
const tmp = tempDir();
const emit = (row: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(row)}\n`);

const integrity = (path: string) => integrityCheck(path) === 'ok';

let clones = 0;
/** Every read-only entry point; returns the applied run ids, or throws. */
async function readEverything(path: string): Promise<string[]> {
  if (!isSandbox(path)) throw new Error('not a sandbox any more');
  sandboxInfo(path);
  tableChecksum(path);
  const reader = openTreatmentReader(path);
  try {
    await reader.listTreatments({ from: new Date(0), to: new Date(Date.UTC(9999, 0)), pageSize: 5 });
    cloneAsSandbox(path, tmp.path(`clone-${++clones}.sqlite`));
    openSandboxWriter(path).closeSync();
    if (!integrity(path)) throw new Error('integrity_check failed');
    return reader.unrestoredRuns().map((r) => r.runId);
  } finally {
    reader.closeSync();
  }
}

async function writersKilled(): Promise<void> {
  const sandbox = tmp.path('sandbox.sqlite');
  createSandbox(sandbox, { clinic: { seed: 5, records: 1500 } });
  const clean = tableChecksum(sandbox);
  const changes = gantryChanges(sandbox);
  const file = tmp.path('changes.json');
  writeFileSync(file, JSON.stringify(changes));
  let t = performance.now();
  await runAndKill(['apply', sandbox, file], null);
  const applySeconds = (performance.now() - t) / 1000;
  const corrupted = tableChecksum(sandbox);
  const runId = (await readEverything(sandbox))[0]!;
  t = performance.now();
  await runAndKill(['restore', sandbox, runId], null);
  const restoreSeconds = (performance.now() - t) / 1000;

  const tally = {
    apply: { tried: 0, handled: 0, hot: 0, killed: 0 },
    restore: { tried: 0, handled: 0, hot: 0, killed: 0 },
  };
  for (let i = 0; i < kills; i++) {
    const phase = i % 2 === 0 ? 'apply' : 'restore';
    const w = openSandboxWriter(sandbox);
    const applied = w.listRunsSync().filter((r) => r.status === 'applied');
    if (phase === 'apply') for (const r of applied) w.restoreSync(r.runId);
    else if (applied.length === 0)
      w.applySync(JSON.parse(readFileSync(file, 'utf8')) as Change[], { label: 'probe' });
    w.closeSync();
    const before = await readEverything(sandbox);
    const seconds = phase === 'apply' ? applySeconds : restoreSeconds;
    const args = phase === 'apply' ? ['apply', sandbox, file] : ['restore', sandbox, before.at(-1)!];
    const outcome = await runAndKill(args, Math.round(rng.uniform(0, 1300 * seconds)));
    const row = tally[phase];
    row.tried++;
    if (outcome.killed) row.killed++;
    if (readOnlyOpenFails(sandbox)) row.hot++;
    try {
      const after = await readEverything(sandbox);
      const checksum = tableChecksum(sandbox);
      const whole = checksum === (after.length === 0 ? clean : corrupted);
      if (whole && !readOnlyOpenFails(sandbox)) row.handled++;
    } catch (error) {
      process.stderr.write(`${phase} kill ${i}: ${(error as Error).message}\n`);
    }
  }
  const w = openSandboxWriter(sandbox);
  for (const r of w
    .listRunsSync()
    .filter((r) => r.status === 'applied')
    .reverse())
    w.restoreSync(r.runId);
  w.closeSync();
  const changed = tableChecksum(sandbox) !== clean || !integrity(sandbox);
  for (const phase of ['apply', 'restore'] as const) {
    const r = tally[phase];
    emit({
      area: 'crash',
      probe: `kill -9 during ${phase} of a run of ${changes.length} changes, at a random moment`,
      tried: r.tried,
      handled: r.handled,
      dataChanged: changed ? 1 : 0,
      notes: `${r.killed} killed mid-run, ${r.hot} left a hot journal; every read-only entry point, integrity_check, all-or-nothing, exact restore`,
    });
  }
}

async function nonSandboxKilled(): Promise<void> {
  const clinic = tmp.path('clinic.sqlite');
  createClinicDatabase(clinic, { seed: 2, records: 300 });
  const clean = tableChecksum(clinic);
  await runAndKill(['hold', clinic], 200);
  const hot = readOnlyOpenFails(clinic);
  const file = fileFingerprint(clinic);
  const entries = [
    () => openTreatmentReader(clinic),
    () => tableChecksum(clinic),
    () => isSandbox(clinic),
    () => sandboxInfo(clinic),
    () => cloneAsSandbox(clinic, tmp.path('clinic-clone.sqlite')),
    () => openSandboxWriter(clinic),
  ];
  let handled = 0;
  for (const entry of entries) {
    try {
      entry();
    } catch (e) {
      if (e instanceof HotJournalError && /Run `anomalia-recover /.test(e.message)) handled++;
    }
  }
  const untouched =
    JSON.stringify(fileFingerprint(clinic)) === JSON.stringify(file) && existsSync(`${clinic}-journal`);
  const io = { stdout: () => undefined, stderr: () => undefined };
  const recovered = runRecoverCli([clinic], io) === 0 && tableChecksum(clinic) === clean;
  emit({
    area: 'crash',
    probe: 'read-only entry points on a non-sandbox with a hot journal (writer killed mid-transaction)',
    tried: entries.length,
    handled,
    dataChanged: untouched ? 0 : 1,
    notes: `hot journal: ${hot}; HotJournalError naming \`anomalia-recover\`, file and journal untouched; anomalia-recover then restored it: ${recovered}`,
  });
}

async function monitorKilled(): Promise<void> {
  const path = tmp.path('state.sqlite');
  let handled = 0;
  const n = Math.max(10, Math.round(kills / 2));
  for (let i = 0; i < n; i++) {
    await runAndKill(['monitor', path, '400'], Math.round(rng.uniform(0, 600)));
    try {
      const store = openMonitorStore(path);
      const c = store.counts();
      store.close();
      if (c.scores % 200 === 0 && c.alerts === (c.scores / 200) * 4 && integrity(path)) handled++;
    } catch (error) {
      process.stderr.write(`monitor kill ${i}: ${(error as Error).message}\n`);
    }
  }
  emit({
    area: 'crash',
    probe: 'kill -9 of the monitor store while committing scored batches',
    tried: n,
    handled,
    dataChanged: 0,
    notes: 'reopened with whole batches only, integrity_check ok',
  });
  let born = 0;
  for (let i = 0; i < 3; i++) {
    const p = tmp.path(`born-${i}.sqlite`);
    await runAndKill(['birth', p], 50 + 50 * i);
    try {
      openMonitorStore(p).close();
      born++;
    } catch (error) {
      process.stderr.write(`birth ${i}: ${(error as Error).message}\n`);
    }
  }
  emit({
    area: 'crash',
    probe: 'kill -9 of the monitor store before its first commit',
    tried: 3,
    handled: born,
    dataChanged: 0,
    notes: 'opened as a new store, not refused as a foreign file',
  });
}

try {
  await writersKilled();
  await nonSandboxKilled();
  await monitorKilled();
} finally {
  tmp.cleanup();
}
