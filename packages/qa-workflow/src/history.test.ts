import { openTreatmentReader } from '@anomalia/db-sqlite';
import { loadClinic, tempDir } from '@anomalia/db-sqlite/testing';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { afterAll, describe, expect, it } from 'vitest';
import { PatientHistory } from './history';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const DAY = 86_400_000;

describe('PatientHistory', () => {
  const clinic = loadClinic(tmp.path('clinic.sqlite'), { seed: 4, records: 6000 });
  const byTime = [...clinic.records].sort(
    (a, b) =>
      a.treatment.Create_DtTm!.getTime() - b.treatment.Create_DtTm!.getTime() ||
      a.treatment.TTX_ID - b.treatment.TTX_ID,
  );
  const isDelivery = (r: TreatmentRecord) =>
    r.treatment.WasQAMode !== true && r.treatment.WasBeamComplete !== false;

  /** What the context should be: every delivery of the batch's patients in `days` before each one's first record, up to the batch's last. */
  function expected(batch: TreatmentRecord[], days: number): number[] {
    const ids = new Set(batch.map((r) => r.treatment.TTX_ID));
    const latest = Math.max(...batch.map((r) => r.treatment.Create_DtTm!.getTime()));
    const from = new Map<number, number>();
    for (const r of batch) {
      const p = r.treatment.Pat_ID1!;
      const t = r.treatment.Create_DtTm!.getTime() - days * DAY;
      from.set(p, Math.min(from.get(p) ?? t, t));
    }
    return clinic.records
      .filter((r) => {
        const f = from.get(r.treatment.Pat_ID1!);
        const t = r.treatment.Create_DtTm?.getTime();
        return (
          f !== undefined &&
          t !== undefined &&
          t >= f &&
          t <= latest &&
          isDelivery(r) &&
          !ids.has(r.treatment.TTX_ID)
        );
      })
      .map((r) => r.treatment.TTX_ID)
      .sort((a, b) => a - b);
  }

  it('gives each batch its patients’ recent deliveries, read set-wise once and then kept up by observe', async () => {
    const reader = openTreatmentReader(clinic.path);
    const calls = { list: 0, load: 0 };
    const counting = {
      listTreatments: (q: Parameters<typeof reader.listTreatments>[0]) => {
        calls.list++;
        return reader.listTreatments(q);
      },
      loadRecords: (ids: readonly number[]) => {
        calls.load++;
        return reader.loadRecords(ids);
      },
    };
    const history = new PatientHistory(counting, { days: 2 });
    try {
      // Start mid-clinic (a monitor's lookback), then stream on in batches of 400.
      let loaded = 0;
      let cached = 0;
      for (let i = 2000; i < 4000; i += 400) {
        const batch = byTime.slice(i, i + 400).filter((r) => r.treatment.Pat_ID1 !== null);
        const before = { ...calls };
        const { history: context, stats } = await history.contextFor(batch);
        expect(context.map((r) => r.treatment.TTX_ID).sort((a, b) => a - b)).toEqual(expected(batch, 2));
        // Set-wise: a listing and a load or two per batch, never one per record.
        expect(calls.list - before.list).toBeLessThanOrEqual(1);
        expect(calls.load - before.load).toBeLessThanOrEqual(1);
        loaded += stats.loadedPatients;
        cached += stats.cachedPatients;
        history.observe(batch);
      }
      // After the first batch, most patients are already in the cache.
      expect(cached).toBeGreaterThan(loaded);
    } finally {
      reader.closeSync();
    }
  });

  it('replaces an edited record with its new version, and drops one that is no longer a delivery', async () => {
    const reader = openTreatmentReader(clinic.path);
    const history = new PatientHistory(reader, { days: 30 });
    try {
      const batch = byTime.slice(3000, 3400);
      await history.contextFor(batch);
      history.observe(batch);
      const edited = batch.find((r) => isDelivery(r) && r.treatment.Pat_ID1 !== null)!;
      const cancelled = { ...edited, treatment: { ...edited.treatment, WasBeamComplete: false } };
      history.observe([cancelled]);
      const later = byTime.slice(3400).find((r) => r.treatment.Pat_ID1 === edited.treatment.Pat_ID1)!;
      const { history: context } = await history.contextFor([later]);
      expect(context.some((r) => r.treatment.TTX_ID === edited.treatment.TTX_ID)).toBe(false);
      history.observe([edited]);
      const again = await history.contextFor([later]);
      expect(again.history.find((r) => r.treatment.TTX_ID === edited.treatment.TTX_ID)).toBe(edited);
    } finally {
      reader.closeSync();
    }
  });
});
