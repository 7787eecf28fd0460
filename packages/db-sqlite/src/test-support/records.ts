import { isDeepStrictEqual } from 'node:util';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { expect } from 'vitest';

/**
 * Deep equality of many records, fast (node's isDeepStrictEqual compares bytes with memcmp;
 * vitest's generic toEqual needs a minute for a few thousand records with leaf blobs). On a
 * difference, the first differing record goes through toEqual for a readable diff.
 */
export function expectSameRecords(
  actual: readonly TreatmentRecord[],
  expected: readonly TreatmentRecord[],
): void {
  expect(actual.length).toBe(expected.length);
  if (isDeepStrictEqual(actual, expected)) return;
  const i = actual.findIndex((a, k) => !isDeepStrictEqual(a, expected[k]));
  expect(actual[i], `record ${i}`).toEqual(expected[i]);
  // toEqual is looser than isDeepStrictEqual (e.g. -0 and 0): still a difference.
  expect.fail(`record ${i} differs (strictly) from the expected one`);
}
