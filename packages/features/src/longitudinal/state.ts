import { parseWith } from '@anomalia/core';
import { z } from 'zod';
import { TrackerOptionsSchema } from './options';
import { PARAMETER_COUNT } from './parameters';
import type { FractionSnapshot } from './snapshot';

const id = z.number().int();
const nullableId = id.nullable();
/** A number that JSON may have turned into null (NaN and ±∞ are written as null). */
const num = z.number().nullable();

/** One fraction snapshot as JSON (NaN written as null). */
export const FractionSnapshotSchema = z.strictObject({
  ttxId: id,
  time: z.number().finite(),
  patientId: id,
  fieldId: id,
  fieldSetId: id,
  machineId: nullableId,
  values: z.array(num).length(PARAMETER_COUNT),
  fingerprint: z.number().int().min(0),
  offsetId: nullableId,
  offsetType: nullableId,
  offsetStudy: num,
  offsetAgeHours: num,
  durationSeconds: num,
  fieldEditedAt: num,
  createId: nullableId,
  editId: nullableId,
  zeroLeafPairs: z.number().int().min(0),
  negativeGaps: z.number().int().min(0),
  declaredLeaves: num,
  imaging: z.boolean(),
  fieldVersion: nullableId,
  fieldEditorId: nullableId,
  staffId: nullableId,
  versionAuditMissing: z.boolean(),
  ageYears: num,
  siteName: z.string().nullable(),
});
export type FractionSnapshotJSON = z.output<typeof FractionSnapshotSchema>;

export const TrackerStateSchema = z.strictObject({
  version: z.literal(1),
  options: TrackerOptionsSchema,
  /** QA-mode verifications (course references). */
  verifications: z.array(FractionSnapshotSchema).default([]),
  fractions: z.array(FractionSnapshotSchema),
});
export type TrackerState = z.output<typeof TrackerStateSchema>;

export function parseTrackerState(input: unknown): TrackerState {
  return parseWith(TrackerStateSchema, input, 'state');
}

const toNull = (v: number) => (Number.isFinite(v) ? v : null);
const toNaN = (v: number | null) => v ?? Number.NaN;

export function snapshotToJSON(s: FractionSnapshot): FractionSnapshotJSON {
  return {
    ...s,
    values: Array.from(s.values, toNull),
    offsetStudy: toNull(s.offsetStudy),
    offsetAgeHours: toNull(s.offsetAgeHours),
    durationSeconds: toNull(s.durationSeconds),
    fieldEditedAt: toNull(s.fieldEditedAt),
    declaredLeaves: toNull(s.declaredLeaves),
    ageYears: toNull(s.ageYears),
  };
}

export function snapshotFromJSON(j: FractionSnapshotJSON): FractionSnapshot {
  return {
    ...j,
    values: Float64Array.from(j.values, toNaN),
    offsetStudy: toNaN(j.offsetStudy),
    offsetAgeHours: toNaN(j.offsetAgeHours),
    durationSeconds: toNaN(j.durationSeconds),
    fieldEditedAt: toNaN(j.fieldEditedAt),
    declaredLeaves: toNaN(j.declaredLeaves),
    ageYears: toNaN(j.ageYears),
  };
}
