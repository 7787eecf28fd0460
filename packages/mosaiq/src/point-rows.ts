import type { TxFieldPointRow } from './tables';

/**
 * The columns `sameControlPoints` compares: every column of TxFieldPoint (a column added to the
 * table is a type error here until it is compared).
 */
const COMPARED = {
  TFP_ID: true,
  FLD_ID: true,
  Create_DtTm: true,
  Edit_DtTm: true,
  Point: true,
  Index: true,
  MLC_Leaves: true,
  A_Leaf_Set: true,
  B_Leaf_Set: true,
  Gantry_Ang: true,
  Coll_Ang: true,
  Field_X: true,
  Coll_X1: true,
  Coll_X2: true,
  Field_Y: true,
  Coll_Y1: true,
  Coll_Y2: true,
  MLC_Type: true,
  Energy: true,
  Gantry_Dir_Enum: true,
} as const satisfies Record<keyof TxFieldPointRow, true>;
export const CONTROL_POINT_COLUMNS: readonly (keyof TxFieldPointRow)[] = Object.keys(
  COMPARED,
) as (keyof TxFieldPointRow)[];

/**
 * Whether two lists of control points hold the same content: as many rows, each equal to its
 * counterpart in every column (dates by instant, leaf sets byte for byte). For caches that serve a
 * field's points read again (new objects, same content) what was computed or sent the first time.
 */
export function sameControlPoints(a: readonly TxFieldPointRow[], b: readonly TxFieldPointRow[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameRow(a[i]!, b[i]!)) return false;
  return true;
}

function sameRow(p: TxFieldPointRow, q: TxFieldPointRow): boolean {
  return (
    p.TFP_ID === q.TFP_ID &&
    p.FLD_ID === q.FLD_ID &&
    p.Point === q.Point &&
    p.Index === q.Index &&
    p.MLC_Leaves === q.MLC_Leaves &&
    p.Gantry_Ang === q.Gantry_Ang &&
    p.Coll_Ang === q.Coll_Ang &&
    p.Field_X === q.Field_X &&
    p.Coll_X1 === q.Coll_X1 &&
    p.Coll_X2 === q.Coll_X2 &&
    p.Field_Y === q.Field_Y &&
    p.Coll_Y1 === q.Coll_Y1 &&
    p.Coll_Y2 === q.Coll_Y2 &&
    p.MLC_Type === q.MLC_Type &&
    p.Energy === q.Energy &&
    p.Gantry_Dir_Enum === q.Gantry_Dir_Enum &&
    sameDate(p.Create_DtTm, q.Create_DtTm) &&
    sameDate(p.Edit_DtTm, q.Edit_DtTm) &&
    sameBytes(p.A_Leaf_Set, q.A_Leaf_Set) &&
    sameBytes(p.B_Leaf_Set, q.B_Leaf_Set)
  );
}

const sameDate = (x: Date | null, y: Date | null) =>
  x === y || (x !== null && y !== null && x.getTime() === y.getTime());

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  // Four bytes at a time when both are 4-byte aligned (leaf sets are 2 bytes per leaf).
  if (a.length % 4 === 0 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const x = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
    const y = new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
