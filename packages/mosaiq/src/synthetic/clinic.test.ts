import { describe, expect, it } from 'vitest';
import { decodeLeafSetStrict } from '../mlc';
import { assembleRecords, type TreatmentRecord } from '../record';
import { emptyTableRows, type TableName, type TableRows } from '../tables';
import { generateClinic, generateRecords } from './clinic';
import { AGILITY, DEFAULT_MACHINES, MILLENNIUM_120 } from './machines';
import { FIELD_TYPE } from './plan';

function collect(options: Parameters<typeof generateClinic>[0]) {
  const records: TreatmentRecord[] = [];
  const rows: TableRows = emptyTableRows();
  const batches: number[] = [];
  for (const batch of generateClinic(options)) {
    batches.push(batch.records.length);
    records.push(...batch.records);
    for (const t of Object.keys(rows) as TableName[]) (rows[t] as unknown[]).push(...batch.rows[t]);
  }
  return { records, rows, batches };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** FNV-1a over every value of every row (bytes included): cheap exact comparison of big outputs. */
function fingerprint(rows: TableRows): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h ^= x & 0xff;
    h = Math.imul(h, 0x01000193);
  };
  const text = (s: string) => {
    for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i));
  };
  for (const t of Object.keys(rows) as TableName[]) {
    text(t);
    for (const row of rows[t] as Record<string, unknown>[]) {
      for (const [k, v] of Object.entries(row)) {
        text(k);
        if (v instanceof Uint8Array) v.forEach(mix);
        else if (v instanceof Date) text(v.toISOString());
        else text(String(v));
      }
    }
  }
  return (h >>> 0).toString(16);
}

describe('generateClinic', () => {
  it('is deterministic under a seed and differs between seeds', () => {
    const a = collect({ seed: 7, records: 1500 });
    const b = collect({ seed: 7, records: 1500 });
    const c = collect({ seed: 8, records: 1500 });
    expect(a.records).toHaveLength(1500);
    expect(fingerprint(b.rows)).toBe(fingerprint(a.rows));
    expect(fingerprint(c.rows)).not.toBe(fingerprint(a.rows));
    expect(generateRecords({ seed: 7, records: 1500 }).map((r) => r.treatment.TTX_ID)).toEqual(
      a.records.map((r) => r.treatment.TTX_ID),
    );
  });

  it('streams batches whose rows rebuild exactly the same records, each row once', () => {
    const { records, rows, batches } = collect({ seed: 3, records: 2500, batchSize: 600 });
    expect(batches).toEqual([600, 600, 600, 600, 100]);
    for (const t of Object.keys(rows) as TableName[]) {
      const pk = {
        TrackTreatment: 'TTX_ID',
        TxField: 'FLD_ID',
        TxFieldPoint: 'TFP_ID',
        Site: 'SIT_ID',
        Patient: 'Pat_ID1',
        Ident: 'IDENT_ID',
        Staff: 'Staff_ID',
        Dose_Hst: 'DHS_ID',
        Offset: 'OFF_ID',
      }[t];
      const keys = (rows[t] as Record<string, unknown>[]).map((r) => r[pk]);
      expect(new Set(keys).size, t).toBe(keys.length);
    }
    expect(assembleRecords(rows)).toEqual(records);
    // TTX_IDs increase with time.
    for (let i = 1; i < records.length; i++) {
      expect(records[i]!.treatment.TTX_ID).toBeGreaterThan(records[i - 1]!.treatment.TTX_ID);
      expect(records[i]!.treatment.Create_DtTm!.getTime()).toBeGreaterThanOrEqual(
        records[i - 1]!.treatment.Create_DtTm!.getTime(),
      );
    }
  });

  it('rejects bad options, naming them', () => {
    expect(() => generateRecords({ seed: 1, records: 0 })).toThrow(/options\.records/);
    expect(() => generateRecords({ seed: 1, machines: [] })).toThrow(/options\.machines/);
    const twice = [DEFAULT_MACHINES[0]!, DEFAULT_MACHINES[0]!];
    expect(() => generateRecords({ seed: 1, machines: twice })).toThrow(/options\.machines\[1\]\.staffId/);
    const odd = { ...DEFAULT_MACHINES[0]!, mlc: { ...AGILITY, leafPairs: 120 } };
    expect(() => generateRecords({ seed: 1, machines: [odd] })).toThrow(
      /options\.machines\[0\]\.mlc\.leafPairs/,
    );
    // A clinic of Millennium machines only works too.
    const tb = DEFAULT_MACHINES.filter((m) => m.mlc === MILLENNIUM_120);
    expect(
      new Set(
        generateRecords({ seed: 1, records: 300, machines: tb }).map((r) => r.controlPoints[0]?.MLC_Leaves),
      ),
    ).toEqual(new Set([60]));
    expect(() => generateRecords({ seed: 1.5 })).toThrow(/options\.seed/);
    // A machine may not take a person's Staff_ID.
    const clash = [{ ...DEFAULT_MACHINES[0]!, staffId: 601 }];
    expect(() => generateRecords({ seed: 1, machines: clash })).toThrow(/options\.machines\[0\]\.staffId/);
  });

  describe('is as messy as a real clinic', () => {
    const { records, rows } = collect({ seed: 2024, records: 20_000 });
    const n = records.length;
    const durations = records.map(
      (r) => (r.treatment.Edit_DtTm!.getTime() - r.treatment.Create_DtTm!.getTime()) / 1000,
    );

    it('has about a quarter of rows complete and about 10 % in QA mode', () => {
      const complete = records.filter((r) => r.treatment.WasBeamComplete).length / n;
      const qa = records.filter((r) => r.treatment.WasQAMode).length / n;
      expect(complete).toBeGreaterThan(0.2);
      expect(complete).toBeLessThan(0.32);
      expect(qa).toBeGreaterThan(0.07);
      expect(qa).toBeLessThan(0.15);
      // Interrupted beams and late edits exist.
      expect(records.some((r) => r.treatment.WasBeamOn && !r.treatment.WasBeamComplete)).toBe(true);
      expect(records.filter((r) => r.treatment.WasResolved).length / n).toBeGreaterThan(0.01);
    });

    it('has beam-on durations from about a second to hours, median about a minute', () => {
      expect(Math.min(...durations)).toBeLessThan(2);
      expect(Math.min(...durations)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...durations)).toBeGreaterThan(3 * 3600);
      expect(median(durations)).toBeGreaterThan(35);
      expect(median(durations)).toBeLessThan(100);
    });

    it('has field meterset near 60 MU median with a tail into the thousands', () => {
      const mu = rows.TxField.map((f) => f.Meterset!);
      expect(median(mu)).toBeGreaterThan(40);
      expect(median(mu)).toBeLessThan(90);
      expect(Math.max(...mu)).toBeGreaterThan(1000);
      expect(Math.min(...mu)).toBeGreaterThan(0);
    });

    it('has the control-point counts of each technique, most fields with one', () => {
      const byType = new Map<number, number[]>();
      for (const f of rows.TxField) {
        const cps = rows.TxFieldPoint.filter((p) => p.FLD_ID === f.FLD_ID).length;
        expect(f.ControlPoints).toBe(cps);
        (byType.get(f.Type_Enum!) ?? byType.set(f.Type_Enum!, []).get(f.Type_Enum!)!).push(cps);
      }
      expect(new Set(byType.get(FIELD_TYPE.static))).toEqual(new Set([1]));
      expect(new Set(byType.get(FIELD_TYPE.port))).toEqual(new Set([1]));
      for (const c of byType.get(FIELD_TYPE.stepAndShoot)!)
        expect(c % 2 === 0 && c >= 6 && c <= 20).toBe(true);
      for (const c of byType.get(FIELD_TYPE.vmat)!) expect(c >= 90 && c <= 180).toBe(true);
      const single = rows.TxField.filter((f) => f.ControlPoints === 1).length / rows.TxField.length;
      expect(single).toBeGreaterThan(0.5);
      // Every technique, fractionation and MLC model shows up.
      const techniques = new Set(rows.Site.map((s) => s.Technique));
      expect(techniques).toEqual(new Set(['QA', '3D', 'IMRT', 'VMAT', 'ELECTRON']));
      expect(new Set(rows.Site.map((s) => s.Fractions))).toEqual(new Set([999, 1, 5, 15, 20, 25, 30, 35]));
      expect(new Set(rows.TxFieldPoint.map((p) => p.MLC_Leaves))).toEqual(new Set([80, 60]));
      // Three and four static fields per 3D site, five to nine per IMRT site, one or two arcs.
      const perSite = (technique: string, type: number) =>
        rows.Site.filter((s) => s.Technique === technique).map(
          (s) => rows.TxField.filter((f) => f.SIT_Set_ID === s.SIT_SET_ID && f.Type_Enum === type).length,
        );
      expect(new Set(perSite('3D', FIELD_TYPE.static))).toEqual(new Set([2, 3, 4]));
      expect(new Set(perSite('IMRT', FIELD_TYPE.stepAndShoot))).toEqual(new Set([5, 6, 7, 8, 9]));
      expect(new Set(perSite('VMAT', FIELD_TYPE.vmat))).toEqual(new Set([1, 2]));
    });

    it('treats on weekdays only', () => {
      const weekend = records.filter((r) => [0, 6].includes(r.treatment.Create_DtTm!.getUTCDay()));
      expect(weekend).toEqual([]);
      const days = new Set(records.map((r) => r.treatment.Create_DtTm!.toISOString().slice(0, 10)));
      expect(days.size).toBeGreaterThan(5);
    });

    it('has offsets mostly under 1 cm, Version 0, valid states and types', () => {
      const current = rows.Offset.filter((o) => o.Version === 0);
      const mags = current.map((o) => Math.hypot(o.Superior_Offset!, o.Anterior_Offset!, o.Lateral_Offset!));
      expect(mags.filter((m) => m < 1).length / mags.length).toBeGreaterThan(0.85);
      expect(Math.max(...mags)).toBeLessThan(5);
      expect(new Set(current.map((o) => o.Offset_Type))).toEqual(new Set([2, 3, 4]));
      expect(new Set(current.map((o) => o.Offset_State))).toEqual(new Set([1, 2]));
      expect(rows.Offset.some((o) => o.Version !== 0)).toBe(true);
      const treated = records.filter((r) => !r.treatment.WasQAMode && r.site?.Technique !== 'QA');
      expect(treated.filter((r) => r.offset !== null).length / treated.length).toBeGreaterThan(0.8);
    });

    it('has staff: a roster of therapists per machine, physicists for QA, dosimetrists for plans', () => {
      const people = new Map(rows.Staff.filter((s) => s.Type !== 'Machine').map((s) => [s.Staff_ID, s.Type]));
      const machines = new Set(rows.Staff.filter((s) => s.Type === 'Machine').map((s) => s.Staff_ID));
      expect(new Set(people.values())).toEqual(new Set(['Dosimetrist', 'Therapist', 'Physicist']));
      for (const id of people.keys()) expect(machines.has(id)).toBe(false);
      for (const r of records) {
        const t = r.treatment;
        expect(t.Create_ID).toBe(t.Staff_ID);
        expect(people.get(t.Staff_ID!)).toBe(t.WasQAMode ? 'Physicist' : 'Therapist');
        if (!t.WasResolved) expect(t.Edit_ID).toBe(t.Create_ID);
        else expect(people.get(t.Edit_ID!)).toBe('Physicist');
      }
      for (const f of rows.TxField) expect(people.get(f.Create_ID!)).toBe('Dosimetrist');
      // One therapist per patient session; two on duty per machine and day, from a pool of four.
      const perSession = new Map<string, Set<number>>();
      const perMachine = new Map<number, Set<number>>();
      const perDay = new Map<string, Set<number>>();
      for (const { treatment: t } of records) {
        if (t.WasQAMode) continue;
        const day = t.Create_DtTm!.toISOString().slice(0, 10);
        const add = <K>(m: Map<K, Set<number>>, k: K) =>
          (m.get(k) ?? m.set(k, new Set()).get(k)!).add(t.Staff_ID!);
        add(perSession, `${t.Pat_ID1}:${t.Machine_ID_Staff_ID}:${day}`);
        add(perMachine, t.Machine_ID_Staff_ID!);
        add(perDay, `${t.Machine_ID_Staff_ID}:${day}`);
      }
      for (const s of perSession.values()) expect(s.size).toBe(1);
      for (const s of perMachine.values()) expect(s.size).toBe(4);
      for (const s of perDay.values()) expect(s.size).toBeLessThanOrEqual(2);
      expect([...perDay.values()].some((s) => s.size === 2)).toBe(true);
    });

    it('links delivered beams to Dose_Hst rows recorded when the beam ends', () => {
      const wrong = records.filter(
        (r) => (r.doseHistory !== null) !== (r.treatment.WasBeamOn && !r.treatment.WasQAMode),
      );
      expect(wrong).toEqual([]);
      const deltas = records
        .filter((r) => r.doseHistory)
        .map((r) => (r.doseHistory!.Tx_DtTm!.getTime() - r.treatment.Create_DtTm!.getTime()) / 1000);
      expect(deltas.length).toBeGreaterThan(n / 5);
      expect(Math.min(...deltas)).toBeGreaterThanOrEqual(0);
      // Within the original's 300 s tolerance, so dose_time_mismatch stays quiet on normal beams.
      expect(Math.max(...deltas)).toBeLessThan(300);
    });

    it('has plausible apertures: gaps ≥ minimum, positions within limits, jaws consistent with leaves', () => {
      const modelOf = new Map(DEFAULT_MACHINES.map((m) => [m.staffId, m.mlc]));
      const fieldMachine = new Map(rows.TxField.map((f) => [f.FLD_ID, modelOf.get(f.Machine_ID_Staff_ID!)!]));
      const problems: string[] = [];
      const check = (ok: boolean, what: string) => {
        if (!ok && problems.length < 10) problems.push(what);
      };
      let checkedPairs = 0;
      for (const p of rows.TxFieldPoint) {
        const mlc = fieldMachine.get(p.FLD_ID!)!;
        const where = `TFP ${p.TFP_ID}`;
        check(p.MLC_Leaves === mlc.leafPairs, `${where}: MLC_Leaves`);
        const a = decodeLeafSetStrict(p.A_Leaf_Set, p.MLC_Leaves, 'A_Leaf_Set');
        const b = decodeLeafSetStrict(p.B_Leaf_Set, p.MLC_Leaves, 'B_Leaf_Set');
        check(p.Coll_Y1! < p.Coll_Y2!, `${where}: Y jaws`);
        check(Math.abs(p.Field_Y! - (p.Coll_Y2! - p.Coll_Y1!)) < 1e-6, `${where}: Field_Y`);
        if (mlc === AGILITY) check(p.Coll_X1 === -20 && p.Coll_X2 === 20, `${where}: Agility X`);
        if (mlc === MILLENNIUM_120) check(p.Field_X! < 40, `${where}: Millennium X jaws`);
        for (let i = 0; i < mlc.leafPairs; i++) {
          checkedPairs++;
          const gap = b[i]! - a[i]!;
          check(gap >= mlc.minGap - 1e-9, `${where} leaf ${i}: gap ${gap}`);
          check(
            Math.abs(a[i]!) <= mlc.positionLimit && Math.abs(b[i]!) <= mlc.positionLimit,
            `${where} leaf ${i}: limit`,
          );
          const y = (mlc.boundaries[i]! + mlc.boundaries[i + 1]!) / 2;
          if (y <= p.Coll_Y1! || y >= p.Coll_Y2!) check(gap <= 4.01, `${where} leaf ${i}: parked gap ${gap}`);
          else
            check(
              a[i]! >= p.Coll_X1! - 1e-9 && b[i]! <= p.Coll_X2! + 1e-9,
              `${where} leaf ${i}: outside X jaws`,
            );
        }
      }
      expect(problems).toEqual([]);
      expect(checkedPairs).toBeGreaterThan(100_000);
    });

    it('sweeps VMAT gantries smoothly with monotone meterset weights', () => {
      const arcs = rows.TxField.filter((f) => f.Type_Enum === FIELD_TYPE.vmat);
      expect(arcs.length).toBeGreaterThan(10);
      for (const f of arcs) {
        const points = rows.TxFieldPoint.filter((p) => p.FLD_ID === f.FLD_ID);
        expect(points[0]!.Index).toBe(0);
        expect(points.at(-1)!.Index).toBe(100);
        for (let i = 1; i < points.length; i++) {
          const d = Math.abs(points[i]!.Gantry_Ang! - points[i - 1]!.Gantry_Ang!) % 360;
          expect(Math.min(d, 360 - d)).toBeLessThanOrEqual(4.5);
          expect(points[i]!.Index!).toBeGreaterThan(points[i - 1]!.Index!);
        }
      }
    });
  });
});
