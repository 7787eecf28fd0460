import type { TxFieldPointRow } from '@anomalia/mosaiq';
import { type PointGeometry, pointGeometry } from '../../malicious/aperture';
import type { FieldEdit, PointPatch } from '../../malicious/versions';

/**
 * The cells the version-based attacks write. A version is an inserted TxField row (new FLD_ID,
 * same FLD_SET_ID, an archived Version, its own Edit_DtTm / Edit_ID) with its TxFieldPoint rows
 * copied (new TFP_IDs); `Table.Column` entries name the columns the version changes relative to
 * the version it replaces; the attacked fractions' TrackTreatment and Dose_Hst rows name it.
 */
export const METERSET_VERSION_WRITES = [
  'TxField',
  'TxField.Meterset',
  'TxFieldPoint',
  'TrackTreatment.FLD_ID',
  'Dose_Hst.FLD_ID',
] as const;

export const APERTURE_VERSION_WRITES = [
  'TxField',
  'TxFieldPoint',
  'TxFieldPoint.A_Leaf_Set',
  'TxFieldPoint.B_Leaf_Set',
  'TrackTreatment.FLD_ID',
  'Dose_Hst.FLD_ID',
] as const;

export const X_JAW_WRITES = ['TxFieldPoint.Coll_X1', 'TxFieldPoint.Coll_X2', 'TxFieldPoint.Field_X'] as const;
export const Y_JAW_WRITES = ['TxFieldPoint.Coll_Y1', 'TxFieldPoint.Coll_Y2', 'TxFieldPoint.Field_Y'] as const;

/** A point edit from a geometry edit (points whose leaf sets cannot be decoded are left alone). */
export function geometryEdit(edit: (g: PointGeometry, cp: TxFieldPointRow) => PointPatch | null): FieldEdit {
  return {
    point(cp) {
      const g = pointGeometry(cp);
      return typeof g === 'string' ? null : edit(g, cp);
    },
  };
}
