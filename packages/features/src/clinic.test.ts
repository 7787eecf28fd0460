import { Rng } from '@anomalia/core';
import type { TreatmentRecord, TxFieldPointRow } from '@anomalia/mosaiq';
import { generateRecords } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { QA74_FEATURE_NAMES } from './definitions';
import { extractQaExtended } from './extended';
import { extractQa74 } from './extract74';
import { missingCounts } from './feature-matrix';

const asOf = Date.UTC(2030, 0, 1);
const records = generateRecords({ seed: 11, records: 6000 });

describe('features of the synthetic clinic', () => {
  const fm = extractQa74(records, { asOf });
  const column = (name: string) => fm.X.getColumn(QA74_FEATURE_NAMES.indexOf(name));
  const share = (name: string, value: number) => column(name).filter((v) => v === value).length / fm.X.rows;

  it('are finite everywhere', () => {
    expect(fm.X.findNonFinite()).toBeNull();
    expect(extractQaExtended(records, { asOf }).X.findNonFinite()).toBeNull();
  });

  it('raise no integrity alarm on normal records', () => {
    for (const [name, quiet] of [
      ['pat_id_null', 0],
      ['patient_exists', 1],
      ['field_exists', 1],
      ['edit_before_create', 0],
      ['dose_time_mismatch', 0],
      ['mu_negative', 0],
      ['mu_cp_mismatch', 0],
      ['cp_sequential', 1],
      ['cp_minimum_met', 1],
      ['gantry_out_of_range', 0],
      ['byte_length_even', 1],
      ['a_out_of_range', 0],
      ['negative_gap_count', 0],
      ['offset_critical', 0],
      ['type_valid', 1],
      ['state_valid', 1],
    ] as const) {
      expect(share(name, quiet), name).toBe(1);
    }
  });

  it('show the clinic’s messiness in the value features', () => {
    expect(share('duration_too_short', 1)).toBeGreaterThan(0.05);
    expect(share('duration_too_long', 1)).toBeGreaterThan(0.005);
    expect(new Set(column('leaf_count'))).toEqual(new Set([60, 80]));
    const missing = missingCounts(fm);
    // Beams never on and QA beams have no Dose_Hst; QA patients have no offsets.
    expect(missing.dose_time_delta! / fm.X.rows).toBeGreaterThan(0.5);
    expect(missing.offset_superior! / fm.X.rows).toBeGreaterThan(0);
    expect(missing.offset_superior! / fm.X.rows).toBeLessThan(0.3);
  });

  it('survive random corruption of every kind without throwing', () => {
    const rng = new Rng(5);
    const corrupt = (r: TreatmentRecord): TreatmentRecord => {
      const cps: TxFieldPointRow[] = r.controlPoints.map((p) => ({ ...p }));
      for (const p of cps) {
        const roll = rng.random();
        if (roll < 0.1) p.A_Leaf_Set = null;
        else if (roll < 0.2)
          p.B_Leaf_Set = Uint8Array.from({ length: rng.integer(0, 260) }, () => rng.integer(0, 256));
        else if (roll < 0.3) p.MLC_Leaves = rng.choice([null, -1, 0, 101, 32767], 1)[0]!;
        else if (roll < 0.4) p.Point = rng.choice([null, -5, 30000], 1)[0]!;
        else if (roll < 0.5) p.Index = rng.choice([null, -1e6, 1e9], 1)[0]!;
        else if (roll < 0.6) p.Gantry_Ang = rng.choice([null, -720, 1e6], 1)[0]!;
      }
      const tt = { ...r.treatment };
      if (rng.random() < 0.3) tt.Create_DtTm = null;
      if (rng.random() < 0.3) tt.Edit_DtTm = new Date(8.64e15);
      return {
        ...r,
        treatment: tt,
        controlPoints: rng.random() < 0.1 ? [] : cps,
        field:
          rng.random() < 0.2
            ? null
            : r.field && { ...r.field, Meterset: rng.choice([null, 0, -1e9, 1e12], 1)[0]! },
        offset:
          rng.random() < 0.2 ? null : r.offset && { ...r.offset, Superior_Offset: null, Offset_Type: 1e6 },
      };
    };
    const bad = records.slice(0, 1500).map(corrupt);
    const a = extractQa74(bad, { asOf });
    const b = extractQaExtended(bad, { asOf, history: records.slice(1500, 3000) });
    expect(a.X.findNonFinite()).toBeNull();
    expect(b.X.findNonFinite()).toBeNull();
  });
});
