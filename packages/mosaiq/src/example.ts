import { encodeLeafSet } from './mlc';
import type { TreatmentRecord } from './record';
import type { OffsetRow, TxFieldPointRow } from './tables';

export interface ExampleRecordOptions {
  /** Control points (default 4). */
  controlPoints?: number;
  /** MLC_Leaves per bank (default 80, Agility). */
  leaves?: number;
  /** TrackTreatment.Create_DtTm (default 2024-03-04T09:00:00Z). */
  createdAt?: Date;
}

/**
 * A small, clean, hand-checkable record: a 4-control-point conformal arc (Type_Enum 11) on an
 * Agility MLC (gantry 180 → 186°, Index 0 → 100, 200 MU), leaves 0–29 and 50–79 parked at ±1 cm behind the jaws and
 * leaves 30–49 open from A = −2 cm to B = +3 cm; a 60 s complete beam with its Dose_Hst row
 * 60 s after the start, and a localization offset of (0.3, −0.4, 0) cm. Every part is a fresh
 * object, so tests can change one thing and see what the features make of it.
 */
export function exampleRecord(options: ExampleRecordOptions = {}): TreatmentRecord {
  const n = options.controlPoints ?? 4;
  const leaves = options.leaves ?? 80;
  const t0 = options.createdAt ?? new Date(Date.UTC(2024, 2, 4, 9, 0, 0));
  const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
  const lo = Math.floor((leaves * 3) / 8);
  const hi = Math.floor((leaves * 5) / 8);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < leaves; i++) {
    const open = i >= lo && i < hi;
    a.push(open ? -2 : -1);
    b.push(open ? 3 : 1);
  }
  const points: TxFieldPointRow[] = [];
  for (let p = 0; p < n; p++) {
    points.push({
      TFP_ID: 900_000 + p,
      FLD_ID: 5001,
      Create_DtTm: at(-86_400),
      Edit_DtTm: at(-86_400),
      Point: p,
      Index: n === 1 ? 0 : Math.round((100_000 * p) / (n - 1)) / 1000,
      MLC_Leaves: leaves,
      A_Leaf_Set: encodeLeafSet(a),
      B_Leaf_Set: encodeLeafSet(b),
      Gantry_Ang: 180 + 2 * p,
      Coll_Ang: 0,
      Field_X: 40,
      Coll_X1: -20,
      Coll_X2: 20,
      Field_Y: 10,
      Coll_Y1: -5,
      Coll_Y2: 5,
      MLC_Type: 2,
      Energy: 6,
      Gantry_Dir_Enum: 1,
    });
  }
  const offset: OffsetRow = {
    OFF_ID: 4001,
    SIT_SET_ID: 7001,
    Version: 0,
    Study_DtTm: at(-300),
    Offset_State: 2,
    Offset_Type: 2,
    Superior_Offset: 0.3,
    Anterior_Offset: -0.4,
    Lateral_Offset: 0,
  };
  return {
    treatment: {
      TTX_ID: 1,
      Create_DtTm: at(0),
      Create_ID: 601,
      Edit_DtTm: at(60),
      Edit_ID: 601,
      Pat_ID1: 10_001,
      FLD_ID: 5001,
      SIT_ID: 7001,
      Machine_ID_Staff_ID: 901,
      Staff_ID: 601,
      WasQAMode: false,
      WasBeamEnabled: true,
      WasBeamOn: true,
      WasBeamComplete: true,
      WasCanceled: false,
      WasRecorded: true,
      DHS_ID: 3001,
      WasResolved: false,
      Resolved_DtTm: null,
    },
    field: {
      FLD_ID: 5001,
      FLD_SET_ID: 5001,
      Version: 0,
      Pat_ID1: 10_001,
      Create_DtTm: at(-86_400),
      Create_ID: 501,
      Edit_DtTm: at(-86_400),
      Edit_ID: 501,
      SIT_Set_ID: 7001,
      Field_Label: '1-1',
      Field_Name: 'ARC1',
      Machine_ID_Staff_ID: 901,
      Type_Enum: 11,
      Modality_Enum: 1,
      ControlPoints: n,
      Meterset: 200,
    },
    controlPoints: points,
    site: {
      SIT_ID: 7001,
      SIT_SET_ID: 7001,
      Version: 0,
      Pat_ID1: 10_001,
      Create_DtTm: at(-86_400),
      Edit_DtTm: at(-86_400),
      Site_Name: 'PROSTATE',
      Technique: 'ARC',
      Modality: 'Xrays',
      Energy: 6,
      Dose_Tx: 200,
      Dose_Ttl: 4000,
      Fractions: 20,
      Frac_Pattern: 'Weekdays',
    },
    patient: {
      Pat_ID1: 10_001,
      Create_DtTm: at(-30 * 86_400),
      Edit_DtTm: at(-30 * 86_400),
      Birth_DtTm: new Date(Date.UTC(1958, 5, 1)),
      Last_Name: 'EXAMPLE',
      First_Name: 'Pat',
    },
    ident: { IDENT_ID: 20_001, Version: 0, Create_DtTm: at(-30 * 86_400), Pat_Id1: 10_001, IDA: 'MR0010001' },
    machine: {
      Staff_ID: 901,
      Type: 'Machine',
      Category: null,
      Last_Name: 'LA1                 ',
      First_Name: 'Agility',
      Machine_Type: 1,
      Status_inactive: false,
    },
    doseHistory: { DHS_ID: 3001, Pat_ID1: 10_001, SIT_ID: 7001, FLD_ID: 5001, Tx_DtTm: at(60) },
    offset,
    sessionOffsets: [offset],
  };
}
