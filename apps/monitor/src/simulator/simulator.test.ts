import { openSandboxWriter, openTreatmentReader, tableChecksum } from '@anomalia/db-sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { mosaiqWallClock } from '../source/clock';
import { testDir } from '../testing/clinics';
import { evaluate, formatEvaluation } from './evaluate';
import { type LedgerEntry, SimulatorLedger } from './ledger';
import { ClinicSimulator } from './simulator';

const tmp = testDir('anomalia-monitor-sim-');
afterAll(() => tmp.cleanup());
const DAY = 86_400_000;

describe('the simulated clinic', () => {
  it('carries the clinic on in a sandbox, corrupting deliveries in the insert’s transaction, with the truth in its ledger', async () => {
    const sandbox = tmp.path('live.sqlite');
    const ledgerPath = tmp.path('ledger.jsonl');
    const sim = await ClinicSimulator.open({
      sandbox,
      clinic: { seed: 7, records: 3000 },
      days: 10,
      seed: 3,
      corruptionRate: 0.5,
      kinds: ['accidental'],
      ledger: ledgerPath,
    });
    const reader = openTreatmentReader(sandbox);
    const start = reader.currentWatermarkSync();
    const before = reader.maxKeys().TrackTreatment!;
    expect(before).toBe(1_003_000);
    const steps = [];
    // About a day and a half of the clinic: the next day's fractions of fields corrupted the day before.
    for (let i = 0; i < 1500; i++) steps.push((await sim.step())!);
    await sim.close();

    // Every insert reached the change cursor, in order; the clinic goes on from its last key.
    const changes = reader.changesSinceSync(start, { limit: 10_000 });
    const fed = steps.map((s) => s.treatment.TTX_ID);
    expect(fed[0]).toBeGreaterThan(before);
    expect(changes.items.map((t) => t.TTX_ID).filter((id) => fed.includes(id))).toEqual(fed);
    // Re-dated into the past (as generated, before any corruption): the last day three days back.
    const latest = Math.max(...steps.map((s) => s.treatment.Create_DtTm?.getTime() ?? 0));
    expect(latest).toBeLessThan(mosaiqWallClock(Date.now()).getTime() - 2 * DAY);

    const ledger = new SimulatorLedger(ledgerPath).read();
    const corruptions = ledger.filter(
      (e): e is Extract<LedgerEntry, { type: 'corruption' }> => e.type === 'corruption',
    );
    const treatments = ledger.filter(
      (e): e is Extract<LedgerEntry, { type: 'treatment' }> => e.type === 'treatment',
    );
    const deliveries = steps.filter((s) => s.delivery).length;
    expect(corruptions.length).toBeGreaterThan(deliveries * 0.3);
    expect(corruptions.length).toBeLessThanOrEqual(deliveries);
    // The record each corruption labels is in the ledger as injected, with its mode and band.
    for (const c of corruptions) {
      const t = treatments.find((e) => e.ttxId === c.primaryTtxId)!;
      expect(t.truth).toMatchObject({
        mode: c.mode,
        variant: c.variant,
        band: c.band,
        role: 'injected',
        runId: c.runId,
      });
    }
    // Later fractions of a field a corruption changed carry its truth.
    const inherited = treatments.filter((t) => t.truth?.role === 'inherited');
    expect(inherited.length).toBeGreaterThan(0);
    for (const t of inherited)
      expect(corruptions.some((c) => c.runId === t.truth!.runId && c.at <= t.at)).toBe(true);

    // The sandbox writer's runs are the corruptions, reversible exactly.
    const writer = openSandboxWriter(sandbox);
    const runs = await writer.listRuns();
    const corrupted = runs.filter((r) => r.meta.mode);
    expect(corrupted.map((r) => r.runId)).toEqual(corruptions.map((c) => c.runId));
    const checksum = tableChecksum(sandbox);
    for (const r of [...corrupted].reverse()) await writer.restore(r.runId);
    expect((await writer.listRuns()).filter((r) => r.meta.mode).every((r) => r.status === 'restored')).toBe(
      true,
    );
    // Restoring the corruptions changed exactly the rows they wrote, nothing else.
    const restoredRows = corrupted.reduce((n, r) => n + r.changeCount, 0);
    expect(restoredRows).toBeGreaterThan(0);
    expect(tableChecksum(sandbox)).not.toBe(checksum);
    await writer.close();
    reader.closeSync();
    // A 3 000-treatment clinic created, then ten simulated days written through the sandbox writer: about 4 s here.
  }, 60_000);

  it('refuses to overwrite an existing database', async () => {
    const path = tmp.path('taken.sqlite');
    const sim = await ClinicSimulator.open({
      sandbox: path,
      clinic: { seed: 7, records: 1000 },
      days: 2,
      seed: 1,
      corruptionRate: 0,
      kinds: ['accidental'],
      ledger: tmp.path('l2.jsonl'),
    });
    await sim.close();
    await expect(
      ClinicSimulator.open({
        sandbox: path,
        clinic: { seed: 7, records: 1000 },
        days: 2,
        seed: 1,
        corruptionRate: 0,
        kinds: ['accidental'],
        ledger: tmp.path('l3.jsonl'),
      }),
    ).rejects.toThrow(/source.database.path: expected a path where the simulator creates its sandbox/);
  });
});

describe('evaluating alerts against the ledger', () => {
  const truth = (band: string, role: 'injected' | 'inherited' = 'injected') => ({
    mode: 'm',
    variant: band,
    kind: 'accidental',
    severity: 1,
    band,
    role,
    runId: 'r',
  });
  const t = (ttxId: number, tr: ReturnType<typeof truth> | null, delivery = true): LedgerEntry => ({
    type: 'treatment',
    at: 0,
    ttxId,
    delivery,
    truth: tr,
  });
  it('counts injected records in the right band, false alerts on clean deliveries, and leaves the rest out', () => {
    const ledger = [
      t(1, truth('high')),
      t(2, truth('critical')),
      t(3, truth('medium')),
      t(4, truth('low')),
      t(5, null),
      t(6, null),
      t(7, null),
      t(8, truth('high', 'inherited')),
      t(9, null, false),
      t(10, truth('high')),
    ];
    const scores = new Map(['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((id) => [id, 'normal']));
    const alerts = new Map([
      ['1', 'high'],
      ['2', 'high'],
      ['3', 'medium'],
      ['6', 'low'],
      ['7', 'critical'],
      ['8', 'high'],
      ['9', 'low'],
    ]);
    const e = evaluate(ledger, { alerts, scores });
    expect(e).toMatchObject({
      injected: 4,
      alerted: 3,
      rightBand: 2,
      rightBandFraction: 0.5,
      adjacentBand: 1,
      clean: 3,
      falseAlerts: 2,
      falseAlertsByBand: { low: 1, critical: 1 },
      pending: 1,
      pendingRecords: [{ record: 10, variant: 'm/high' }],
    });
    expect(e.falseAlertRate).toBeCloseTo(2 / 3);
    expect(formatEvaluation(e)).toContain(
      'clean deliveries scored: 3; false alerts: 2 (66.7 %) by band: low 1, critical 1',
    );
    expect(e.misses).toEqual([
      { record: 2, variant: 'm/critical', expected: 'critical', got: 'high' },
      { record: 4, variant: 'm/low', expected: 'low', got: null },
    ]);
  });
});
