import { MOSAIQ_TABLES, type UpdateChange } from '@anomalia/mosaiq';
import { describe, expect, it } from 'vitest';
import { failureCatalogue } from '../catalogue';
import { createKeyAllocator } from '../keys';
import { COHORT } from '../test-support/harness';

const target = COHORT.records.find(
  (r) => r.treatment.WasBeamComplete && r.offset && r.controlPoints.length > 5,
)!;
const tt = target.treatment;
const apply = (mode: string, variant: string, params?: unknown) =>
  failureCatalogue.mode(mode).apply({ variant, target, cohort: COHORT, params, rng: 1 });
const single = (mode: string, variant: string, params?: unknown) => {
  const { changes } = apply(mode, variant, params);
  expect(changes).toHaveLength(1);
  return changes[0] as UpdateChange;
};

describe('timestamp_inconsistencies', () => {
  it('negative_duration makes a real negative duration (the original made it zero)', () => {
    const c = single('timestamp_inconsistencies', 'negative_duration');
    expect(c.column).toBe('Create_DtTm');
    expect(tt.Edit_DtTm!.getTime() - (c.newValue as Date).getTime()).toBe(-60_000);
  });

  it('edit_before_create moves Edit_DtTm 2 h before Create_DtTm', () => {
    const c = single('timestamp_inconsistencies', 'edit_before_create');
    expect((c.newValue as Date).getTime()).toBe(tt.Create_DtTm!.getTime() - 7_200_000);
  });

  it('future_timestamp is in the future of the cohort (or of an explicit reference), not of the host clock', () => {
    const { changes } = apply('timestamp_inconsistencies', 'future_timestamp');
    const create = (changes[0] as UpdateChange).newValue as Date;
    expect(create.getTime()).toBe(COHORT.latestTimestamp!.getTime() + 365 * 86_400_000);
    const edit = (changes[1] as UpdateChange).newValue as Date;
    expect(edit.getTime() - create.getTime()).toBe(tt.Edit_DtTm!.getTime() - tt.Create_DtTm!.getTime());
    const explicit = apply('timestamp_inconsistencies', 'future_timestamp', {
      reference: '2031-01-01T00:00:00Z',
      offsetDays: 1,
    });
    expect((explicit.changes[0] as UpdateChange).newValue).toEqual(new Date('2031-01-02T00:00:00Z'));
  });
});

describe('orphaned_records', () => {
  it('points the foreign key at an id that exists nowhere', () => {
    for (const [variant, column, table] of [
      ['patient_id', 'Pat_ID1', 'Patient'],
      ['field_id', 'FLD_ID', 'TxField'],
      ['site_id', 'SIT_ID', 'Site'],
    ] as const) {
      const c = single('orphaned_records', variant);
      expect(c.column).toBe(column);
      expect(COHORT.row(table, c.newValue as number)).toBeUndefined();
      const pk = MOSAIQ_TABLES[table].primaryKey;
      const maxKey = Math.max(
        ...(COHORT.rows[table] as unknown as Record<string, number>[]).map((r) => r[pk]!),
      );
      expect(c.newValue as number).toBeGreaterThan(maxKey);
    }
  });

  it('accepts an explicit dangling id only when it certainly dangles', () => {
    expect(single('orphaned_records', 'patient_id', { invalidValue: 999_999 }).newValue).toBe(999_999);
    const existing = COHORT.rows.Patient[0]!.Pat_ID1;
    expect(() => apply('orphaned_records', 'patient_id', { invalidValue: existing })).toThrow(
      /params\.invalidValue/,
    );
    const keys = createKeyAllocator({ rows: COHORT.rows });
    failureCatalogue
      .mode('orphaned_records')
      .apply({ variant: 'site_id', target, cohort: COHORT, rng: 1, keys, params: { invalidValue: 888_888 } });
    expect(() =>
      failureCatalogue.mode('orphaned_records').apply({
        variant: 'site_id',
        target,
        cohort: COHORT,
        rng: 1,
        keys,
        params: { invalidValue: 888_888 },
      }),
    ).toThrow(/not used by this plan/);
  });
});

describe('null_required_fields', () => {
  it('sets the named column to NULL', () => {
    expect(single('null_required_fields', 'pat_id')).toMatchObject({ column: 'Pat_ID1', newValue: null });
    expect(single('null_required_fields', 'timestamp', { column: 'Edit_DtTm' })).toMatchObject({
      column: 'Edit_DtTm',
      newValue: null,
    });
    expect(single('null_required_fields', 'other', { table: 'TxField', column: 'Meterset' })).toMatchObject({
      table: 'TxField',
      key: tt.FLD_ID,
      newValue: null,
    });
    expect(single('null_required_fields', 'other', { table: 'Offset', column: 'Study_DtTm' })).toMatchObject({
      table: 'Offset',
      key: target.offset!.OFF_ID,
    });
  });
});

describe('missing_control_points', () => {
  const mcp = failureCatalogue.mode('missing_control_points');
  it('multiple_gaps deletes non-adjacent interior points', () => {
    const app = mcp.apply({ variant: 'multiple_gaps', target, cohort: COHORT, rng: 3, params: { count: 3 } });
    const points = app.changes
      .map((c) => (c.kind === 'delete' ? (c.row.Point as number) : -1))
      .sort((a, b) => a - b);
    expect(points).toHaveLength(3);
    const last = target.controlPoints.length - 1;
    for (let i = 0; i < points.length; i++) {
      expect(points[i]).toBeGreaterThan(0);
      expect(points[i]).toBeLessThan(last);
      if (i > 0) expect(points[i]! - points[i - 1]!).toBeGreaterThan(1);
    }
    expect(
      mcp.check({ variant: 'multiple_gaps', target, cohort: COHORT, params: { points: [2, 3] } }),
    ).toMatch(/adjacent/);
  });

  it('all_deleted deletes every point with its full row, so it can be restored', () => {
    const app = mcp.apply({ variant: 'all_deleted', target, cohort: COHORT, rng: 1 });
    expect(app.changes).toHaveLength(target.controlPoints.length);
    expect(app.changes.every((c) => c.kind === 'delete' && c.row.A_Leaf_Set instanceof Uint8Array)).toBe(
      true,
    );
  });
});

describe('meterset_inconsistency and mlc_leaf_count_mismatch', () => {
  it('negative_meterset flips the sign by default; extreme_value refuses a field already above 1000 MU', () => {
    expect(single('meterset_inconsistency', 'negative_meterset').newValue).toBe(-target.field!.Meterset!);
    const big = COHORT.records.find((r) => (r.field?.Meterset ?? 0) > 1000)!;
    expect(
      failureCatalogue
        .mode('meterset_inconsistency')
        .check({ variant: 'extreme_value', target: big, cohort: COHORT }),
    ).toMatch(/already/);
  });

  it('mismatch_with_cp scales [Index] so the points account for 90 % of the meterset', () => {
    const { changes } = apply('meterset_inconsistency', 'mismatch_with_cp');
    const last = changes[changes.length - 1] as UpdateChange;
    expect(last.column).toBe('Index');
    expect(last.newValue).toBeCloseTo(0.9 * (last.oldValue as number), 3);
  });

  it('leaf-count variants write MLC_Leaves or zero the uncovered slots', () => {
    const intra = apply('mlc_leaf_count_mismatch', 'intra_field').changes;
    expect(intra).toHaveLength(1);
    expect(intra[0]).toMatchObject({ column: 'MLC_Leaves', newValue: 40 });
    const declared = target.controlPoints[0]!.MLC_Leaves!;
    const machine = apply('mlc_leaf_count_mismatch', 'vs_machine').changes as UpdateChange[];
    expect(machine).toHaveLength(target.controlPoints.length);
    expect(new Set(machine.map((c) => c.newValue))).toEqual(new Set([declared === 80 ? 60 : 80]));
    const plan = apply('mlc_leaf_count_mismatch', 'vs_plan').changes as UpdateChange[];
    const blob = plan[0]!.newValue as Uint8Array;
    expect(blob.length).toBe(200);
    expect(blob.subarray(2 * (declared - 20), 2 * declared).every((x) => x === 0)).toBe(true);
  });
});

describe('invalid_offset_data', () => {
  it('extreme_values writes the three axes of the offset the treatment uses', () => {
    const { changes } = apply('invalid_offset_data', 'extreme_values');
    expect(changes.map((c) => (c as UpdateChange).column)).toEqual([
      'Superior_Offset',
      'Anterior_Offset',
      'Lateral_Offset',
    ]);
    expect(
      changes.every((c) => c.key === target.offset!.OFF_ID && (c as UpdateChange).newValue === 12.5),
    ).toBe(true);
  });
});
