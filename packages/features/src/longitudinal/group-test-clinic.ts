import type { TreatmentRecord } from '@anomalia/mosaiq';
import { exampleRecord } from '@anomalia/mosaiq/synthetic';

/**
 * Test helper (not exported by the package): a hand-built clinic whose every count is known.
 * Patient p (0-based) is treated on machine 901 + (p % 2) once a day at 09:00 + p minutes from
 * 2024-03-04 for `fractions` days, by therapist 601 + (day % 4); its field (FLD_ID and FLD_SET_ID
 * 5000 + p) was planned by dosimetrist 501 the day before the first fraction.
 */
export const CLINIC_START = Date.UTC(2024, 2, 4, 9, 0, 0);
export const DAY = 86_400_000;

/** The roles of the hand clinic's staff (as `staffRolesOf` reads them from a Staff table). */
export const roles: ReadonlyMap<number, string> = new Map([
  [501, 'Dosimetrist'],
  [601, 'Therapist'],
  [602, 'Therapist'],
  [603, 'Therapist'],
  [604, 'Therapist'],
  [701, 'Physicist'],
]);

export interface FractionSpec {
  readonly patient: number;
  readonly day: number;
  /** A later field version delivered from this fraction on: its FLD_ID, editor and edit time. */
  readonly version?: { readonly fieldId: number; readonly editor: number | null; readonly editedAt: number };
  readonly ttxId: number;
}

export function fraction(spec: FractionSpec): TreatmentRecord {
  const { patient, day, version, ttxId } = spec;
  const at = CLINIC_START + day * DAY + patient * 60_000;
  const base = exampleRecord({ createdAt: new Date(at) });
  const fieldSet = 5000 + patient;
  const planned = CLINIC_START - DAY;
  const fieldId = version?.fieldId ?? fieldSet;
  const editedAt = version?.editedAt ?? planned;
  const therapist = 601 + (day % 4);
  const machine = 901 + (patient % 2);
  return {
    ...base,
    treatment: {
      ...base.treatment,
      TTX_ID: ttxId,
      Pat_ID1: 10_000 + patient,
      FLD_ID: fieldId,
      Staff_ID: therapist,
      Create_ID: therapist,
      Edit_ID: therapist,
      Machine_ID_Staff_ID: machine,
    },
    field: {
      ...base.field!,
      FLD_ID: fieldId,
      FLD_SET_ID: fieldSet,
      Version: 0,
      Pat_ID1: 10_000 + patient,
      Edit_DtTm: new Date(editedAt),
      Edit_ID: version ? version.editor : 501,
      Machine_ID_Staff_ID: machine,
    },
    controlPoints: base.controlPoints.map((p) => ({
      ...p,
      FLD_ID: fieldId,
      Create_DtTm: new Date(planned),
      Edit_DtTm: new Date(planned),
    })),
  };
}

/** `patients` patients × `fractions` daily fractions, TTX_IDs in time order. */
export function handClinic(
  patients: number,
  fractions: number,
  versionOf: (patient: number, day: number) => FractionSpec['version'] = () => undefined,
): TreatmentRecord[] {
  const out: TreatmentRecord[] = [];
  for (let day = 0; day < fractions; day++)
    for (let p = 0; p < patients; p++)
      out.push(fraction({ patient: p, day, version: versionOf(p, day), ttxId: out.length + 1 }));
  return out;
}
