import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { Rng } from '@anomalia/core';
import type { Change } from '@anomalia/mosaiq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksum } from './checksum';
import { createClinicDatabase } from './loader';
import { openMonitorStore } from './monitor-store/store';
import { openTreatmentReader } from './reader';
import { runRecoverCli } from './recover-cli';
import { HotJournalError, recoverCommand } from './recovery';
import { cloneAsSandbox, createSandbox, isSandbox, sandboxInfo } from './sandbox';
import { gantryChanges, integrityCheck, readOnlyOpenFails, runAndKill } from './test-support/crash';
import { fileFingerprint, tempDir } from './testing/fixtures';
import { openSandboxWriter } from './writer';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Every read-only entry point of the package, on a database that may have just lost its writer. */
async function readEverything(path: string, clone: string): Promise<{ checksum: string; applied: string[] }> {
  expect(isSandbox(path)).toBe(true);
  expect(sandboxInfo(path).origin).toBe('created');
  const checksum = tableChecksum(path);
  const reader = openTreatmentReader(path);
  let applied: string[];
  try {
    const page = await reader.listTreatments({
      from: new Date(0),
      to: new Date(Date.UTC(9999, 0)),
      pageSize: 5,
    });
    expect(page.items).toHaveLength(5);
    applied = reader.unrestoredRuns().map((r) => r.runId);
  } finally {
    await reader.close();
  }
  cloneAsSandbox(path, clone);
  expect(tableChecksum(clone)).toBe(checksum);
  openSandboxWriter(path).closeSync();
  expect(integrityCheck(path)).toBe('ok');
  return { checksum, applied };
}

describe('a writer killed with SIGKILL in the middle of apply and restore', () => {
  const sandbox = tmp.path('sandbox.sqlite');
  const changesFile = tmp.path('changes.json');
  let clean: string;
  let corrupted: string;
  let applySeconds: number;
  let restoreSeconds: number;

  beforeAll(async () => {
    createSandbox(sandbox, { clinic: { seed: 5, records: 1500 } });
    clean = tableChecksum(sandbox);
    writeFileSync(changesFile, JSON.stringify(gantryChanges(sandbox)));
    // How long the victim takes, unkilled: kills are spread over that time.
    let t = performance.now();
    const applied = await runAndKill(['apply', sandbox, changesFile], null);
    expect(applied.code, applied.stderr).toBe(0);
    applySeconds = (performance.now() - t) / 1000;
    corrupted = tableChecksum(sandbox);
    const reader = openTreatmentReader(sandbox);
    const runId = reader.unrestoredRuns()[0]!.runId;
    reader.closeSync();
    t = performance.now();
    const restored = await runAndKill(['restore', sandbox, runId], null);
    expect(restored.code, restored.stderr).toBe(0);
    restoreSeconds = (performance.now() - t) / 1000;
    expect(tableChecksum(sandbox)).toBe(clean);
  }, 120_000);

  it('leaves a sandbox every read-only open recovers, sound, all-or-nothing, restoring exactly (24 kills or more)', async () => {
    const rng = new Rng(2024);
    const outcomes: { phase: string; killed: boolean; hot: boolean; result: string }[] = [];
    const seconds = { apply: applySeconds, restore: restoreSeconds };
    // At least 24 kills, and more (up to 96) until six left a hot journal in both phases: where a
    // random moment falls depends on the machine's load, the requirement below does not.
    const enoughHot = () => {
      const hot = outcomes.filter((o) => o.hot);
      return (
        hot.length >= 6 && hot.some((o) => o.phase === 'apply') && hot.some((o) => o.phase === 'restore')
      );
    };
    for (let i = 0; i < 96 && (i < 24 || !enoughHot()); i++) {
      const phase = i % 2 === 0 ? 'apply' : 'restore';
      // The state the phase starts from: clean for apply, one run applied for restore.
      const writer = openSandboxWriter(sandbox);
      const applied = writer.listRunsSync().filter((r) => r.status === 'applied');
      if (phase === 'apply') for (const r of applied) writer.restoreSync(r.runId);
      else if (applied.length === 0) {
        writer.applySync(JSON.parse(readFileSync(changesFile, 'utf8')) as Change[], { label: 'to restore' });
      }
      writer.closeSync();
      const before = await readEverything(sandbox, tmp.path(`clone-${i}-before.sqlite`));
      const delay = Math.round(rng.uniform(0, 1.3 * seconds[phase] * 1000));
      const args =
        phase === 'apply' ? ['apply', sandbox, changesFile] : ['restore', sandbox, before.applied.at(-1)!];
      const started = performance.now();
      const outcome = await runAndKill(args, delay);
      if (!outcome.killed) {
        expect(outcome.code, outcome.stderr).toBe(0);
        // The load changes: later kills are spread over the latest unkilled duration.
        seconds[phase] = (performance.now() - started) / 1000;
      }
      const hot = readOnlyOpenFails(sandbox);

      const after = await readEverything(sandbox, tmp.path(`clone-${i}-after.sqlite`));
      expect(readOnlyOpenFails(sandbox)).toBe(false);
      // All or nothing: the run happened entirely, or not at all.
      let result: string;
      if (phase === 'apply') {
        result = after.applied.length === before.applied.length ? 'not applied' : 'applied';
        if (result === 'applied') expect(after.applied.length).toBe(before.applied.length + 1);
        expect(after.checksum).toBe(after.applied.length === 0 ? clean : corrupted);
      } else {
        result = after.applied.length === before.applied.length ? 'not restored' : 'restored';
        expect(after.checksum).toBe(after.applied.length === 0 ? clean : corrupted);
      }
      outcomes.push({ phase, killed: outcome.killed, hot, result });
    }
    // Several kills must have hit a transaction with pages already written, or nothing was tested.
    const hotKills = outcomes.filter((o) => o.hot);
    console.info(
      `${outcomes.length} kills: ${outcomes.filter((o) => o.killed).length} killed mid-run, ${hotKills.length} left a hot journal (${hotKills.filter((o) => o.phase === 'apply').length} in apply, ${hotKills.filter((o) => o.phase === 'restore').length} in restore)`,
    );
    expect(hotKills.length, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(6);
    expect(hotKills.some((o) => o.phase === 'apply')).toBe(true);
    expect(hotKills.some((o) => o.phase === 'restore')).toBe(true);

    // Every run still applied restores, and the Mosaiq tables are exactly the original ones.
    const writer = openSandboxWriter(sandbox);
    for (const run of writer
      .listRunsSync()
      .filter((r) => r.status === 'applied')
      .reverse()) {
      writer.restoreSync(run.runId);
    }
    writer.closeSync();
    expect(tableChecksum(sandbox)).toBe(clean);
    expect(integrityCheck(sandbox)).toBe('ok');
  }, 1_500_000);
});

describe('a hot journal on a database that must not be written, or by a process that only reads', () => {
  it('is never rolled back on a database that is not a sandbox: the error says what to run', async () => {
    const clinic = tmp.path('clinic.sqlite');
    createClinicDatabase(clinic, { seed: 2, records: 300 });
    const clean = tableChecksum(clinic);
    const outcome = await runAndKill(['hold', clinic], 200);
    expect(outcome.killed).toBe(true);
    expect(readOnlyOpenFails(clinic)).toBe(true);
    const file = fileFingerprint(clinic);
    const journal = fileFingerprint(`${clinic}-journal`);

    for (const read of [
      () => openTreatmentReader(clinic),
      () => tableChecksum(clinic),
      () => isSandbox(clinic),
      () => cloneAsSandbox(clinic, tmp.path('clinic-clone.sqlite')),
      () => openSandboxWriter(clinic),
    ]) {
      expect(read).toThrow(HotJournalError);
    }
    expect(() => tableChecksum(clinic)).toThrow(/it is not an Anomalia sandbox/);
    expect(() => tableChecksum(clinic)).toThrow(`Run \`${recoverCommand(clinic)}\``);
    expect(existsSync(tmp.path('clinic-clone.sqlite'))).toBe(false);
    // Nothing touched: the file, its journal, and no copy left behind.
    expect(fileFingerprint(clinic)).toEqual(file);
    expect(fileFingerprint(`${clinic}-journal`)).toEqual(journal);

    // The command the message names recovers it.
    const out: string[] = [];
    const code = runRecoverCli([clinic], { stdout: (t) => out.push(t), stderr: (t) => out.push(t) });
    expect(code, out.join('')).toBe(0);
    expect(out.join('')).toContain('rolled back the hot journal left by a killed writer; integrity_check ok');
    expect(tableChecksum(clinic)).toBe(clean);
  });

  it("is left alone by a reader with recoverJournal: 'never', even on a sandbox", async () => {
    const sandbox = tmp.path('watched.sqlite');
    createSandbox(sandbox, { clinic: { seed: 3, records: 300 } });
    const clean = tableChecksum(sandbox);
    await runAndKill(['hold', sandbox], 200);
    expect(readOnlyOpenFails(sandbox)).toBe(true);
    const file = fileFingerprint(sandbox);
    expect(() => openTreatmentReader(sandbox, { recoverJournal: 'never' })).toThrow(
      /this process only reads databases and leaves recovery to you\. Nothing was changed\. Run `anomalia-recover /,
    );
    expect(() => tableChecksum(sandbox, { recoverJournal: 'never' })).toThrow(HotJournalError);
    expect(fileFingerprint(sandbox)).toEqual(file);
    // Without the option, it is a sandbox: recovered.
    expect(tableChecksum(sandbox)).toBe(clean);
    expect(readOnlyOpenFails(sandbox)).toBe(false);
  });

  it('is recovered under a reader opened before the writer was killed', async () => {
    const sandbox = tmp.path('long-lived.sqlite');
    createSandbox(sandbox, { clinic: { seed: 4, records: 300 } });
    const reader = openTreatmentReader(sandbox);
    try {
      const before = reader.tableCounts();
      await runAndKill(['hold', sandbox], 200);
      expect(readOnlyOpenFails(sandbox)).toBe(true);
      expect(reader.tableCounts()).toEqual(before);
      expect(reader.checksum().total).toBe(tableChecksum(sandbox));
    } finally {
      reader.closeSync();
    }
  });
});

describe('the monitor store killed while committing', () => {
  it('reopens after each of 20 kills with whole batches only and a sound file', async () => {
    const path = tmp.path('state.sqlite');
    const rng = new Rng(7);
    for (let i = 0; i < 20; i++) {
      const outcome = await runAndKill(['monitor', path, '400'], Math.round(rng.uniform(0, 600)));
      if (!outcome.killed) expect(outcome.code, outcome.stderr).toBe(0);
      const store = openMonitorStore(path);
      const counts = store.counts();
      store.close();
      // 200 scores and 4 alerts per batch: a batch is committed whole or not at all.
      expect(counts.scores % 200).toBe(0);
      expect(counts.alerts).toBe((counts.scores / 200) * 4);
      expect(integrityCheck(path)).toBe('ok');
    }
  }, 600_000);

  it('treats a store killed before its first commit as new, not as a foreign file', async () => {
    const path = tmp.path('killed-at-birth.sqlite');
    // Killed inside its first transaction: WAL set, nothing committed.
    expect((await runAndKill(['birth', path], 50)).killed).toBe(true);
    expect(statSync(path).size).toBeGreaterThan(0);
    const store = openMonitorStore(path);
    expect(store.counts().scores).toBe(0);
    store.close();
  });
});
