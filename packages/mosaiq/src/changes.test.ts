import { ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import {
  applyChanges,
  type Change,
  ChangeConflictError,
  changeFromJson,
  changeToJson,
  invertChanges,
  validateChange,
} from './changes';
import { exampleRecord } from './example';
import { assembleRecords, recordsToRows } from './record';

const record = exampleRecord();
const rows = recordsToRows([record]);
const cp0 = record.controlPoints[0]!;
const odd = new Uint8Array(201);
odd.set(cp0.A_Leaf_Set!);

const changes: Change[] = [
  { kind: 'update', table: 'TxField', key: 5001, column: 'Meterset', oldValue: 200, newValue: -100 },
  {
    kind: 'update',
    table: 'TxFieldPoint',
    key: cp0.TFP_ID,
    column: 'A_Leaf_Set',
    oldValue: cp0.A_Leaf_Set,
    newValue: odd,
  },
  {
    kind: 'update',
    table: 'TrackTreatment',
    key: 1,
    column: 'Edit_DtTm',
    oldValue: record.treatment.Edit_DtTm,
    newValue: new Date(0),
  },
  { kind: 'update', table: 'TrackTreatment', key: 1, column: 'Pat_ID1', oldValue: 10_001, newValue: null },
  {
    kind: 'delete',
    table: 'TxFieldPoint',
    key: record.controlPoints[2]!.TFP_ID,
    row: { ...record.controlPoints[2]! },
  },
  {
    kind: 'insert',
    table: 'TrackTreatment',
    key: 2,
    row: {
      ...record.treatment,
      TTX_ID: 2,
      Create_DtTm: new Date(record.treatment.Create_DtTm!.getTime() + 5000),
    },
  },
];

describe('validateChange', () => {
  it('accepts typed values and rejects anything a database would not take', () => {
    for (const c of changes) expect(validateChange(c)).toBe(c);
    const bad: [Change, RegExp][] = [
      [{ ...changes[0]!, table: 'Chklist' as never }, /change\.table/],
      [{ ...changes[0]!, column: 'Meterset; DROP TABLE TxField' } as Change, /change\.column/],
      [{ ...changes[0]!, column: 'FLD_ID' } as Change, /primary key/],
      [{ ...changes[0]!, newValue: '100' } as Change, /change\.newValue.*decimal/],
      [{ ...changes[1]!, newValue: [1, 2] as never } as Change, /newValue/],
      [{ ...changes[2]!, newValue: new Date(Number.NaN) } as Change, /newValue/],
      [{ ...changes[0]!, key: 1.5 }, /change\.key/],
      [{ kind: 'delete', table: 'Offset', key: 1, row: { OFF_ID: 1 } }, /full old row/],
      [{ kind: 'insert', table: 'Offset', key: 1, row: { OFF_ID: 2 } }, /the change's key/],
      [{ kind: 'insert', table: 'Offset', key: 1, row: { OFF_ID: 1, Nope: 1 } }, /row\.Nope/],
    ];
    for (const [c, re] of bad) expect(() => validateChange(c), re.source).toThrow(re);
    expect(() => validateChange({ ...changes[0]!, kind: 'upsert' } as never)).toThrow(ValidationError);
  });
});

describe('applyChanges', () => {
  it('applies updates, deletes and inserts without touching the input, and the records show them', () => {
    const before = structuredClone(rows);
    const after = applyChanges(rows, changes);
    expect(rows).toEqual(before);
    const records = assembleRecords(after);
    expect(records).toHaveLength(2);
    const [r] = records;
    expect(r!.field!.Meterset).toBe(-100);
    expect(r!.controlPoints.map((p) => p.Point)).toEqual([0, 1, 3]);
    expect(r!.controlPoints[0]!.A_Leaf_Set).toHaveLength(201);
    expect(r!.treatment.Pat_ID1).toBeNull();
    expect(r!.patient).toBeNull();
    expect(records[1]!.treatment.TTX_ID).toBe(2);
  });

  it('restores the exact original with the inverse changes', () => {
    const after = applyChanges(rows, changes);
    const restored = applyChanges(after, invertChanges(changes));
    expect(assembleRecords(restored)).toEqual([record]);
  });

  it('refuses a change whose precondition fails, naming it', () => {
    const stale: Change = { ...changes[0]!, oldValue: 150 } as Change;
    expect(() => applyChanges(rows, [changes[2]!, stale])).toThrow(ChangeConflictError);
    expect(() => applyChanges(rows, [stale])).toThrow(
      /changes\[0\] \(update TxField 5001\.Meterset\): expected 150, found 200/,
    );
    expect(() => applyChanges(rows, [changes[5]!, changes[5]!])).toThrow(/already exists/);
    expect(() => applyChanges(rows, [changes[4]!, changes[4]!])).toThrow(/no row has this key/);
    const wrongRow: Change = {
      ...changes[4]!,
      row: { ...(changes[4]!.kind === 'delete' ? changes[4]!.row : {}), Gantry_Ang: 1 },
    } as Change;
    expect(() => applyChanges(rows, [wrongRow])).toThrow(/Gantry_Ang/);
  });
});

describe('JSON form', () => {
  it('round-trips dates, bytes and nulls exactly', () => {
    const json = JSON.parse(JSON.stringify(changes.map(changeToJson)));
    const back = json.map((j: unknown, i: number) => changeFromJson(j, `changes[${i}]`));
    expect(back).toEqual(changes);
  });

  it('names the bad field', () => {
    expect(() =>
      changeFromJson({ kind: 'update', table: 'TxField', key: 1, column: 'Meterset', oldValue: 1 }),
    ).toThrow(/change\.newValue/);
    expect(() =>
      changeFromJson({
        kind: 'update',
        table: 'TxField',
        key: 1,
        column: 'Meterset',
        oldValue: 1,
        newValue: { $date: 'x' },
      }),
    ).toThrow(/change\.newValue/);
    expect(() =>
      changeFromJson({
        kind: 'update',
        table: 'TxField',
        key: 1,
        column: 'Meterset',
        oldValue: 1,
        newValue: 'a lot',
      }),
    ).toThrow(/decimal/);
  });
});
