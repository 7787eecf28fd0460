import { ValidationError } from '@anomalia/core';
import { createSandbox } from '@anomalia/db-sqlite';
import { tempDir } from '@anomalia/db-sqlite/testing';
import { failureCatalogue } from '@anomalia/failure-modes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCorruption } from './corruption';
import { openSource, resolveSource } from './sources/registry';
import type { OpenSource } from './sources/types';

const tmp = tempDir();
let source: OpenSource;
const limits = { maxTargets: 100, maxCandidates: 2000 };

beforeAll(async () => {
  const path = tmp.path('sandbox.sqlite');
  createSandbox(path, { clinic: { seed: 11, records: 300 } });
  source = await openSource(resolveSource(path));
});
afterAll(async () => {
  await source.close();
  tmp.cleanup();
});

async function errorOf(request: Parameters<typeof computeCorruption>[2]): Promise<ValidationError> {
  const error = await computeCorruption(source, failureCatalogue, request, limits).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('computeCorruption errors name the argument at fault', () => {
  it('a parameter no record can take is blamed, with the reason, not the variant', async () => {
    const error = await errorOf({
      mode: 'duplicate_treatments',
      variant: 'different_field',
      params: { otherFieldId: 99_999_999 },
      seed: 0,
    });
    expect(error.field).toBe('params.otherFieldId');
    expect(error.received).toBe(99_999_999);
    expect(error.message).toMatch(
      /field 99999999 is not another field of patient \d+; without this parameter it would apply/,
    );
  });

  it('a date beyond an SQL datetime is blamed on the parameter that puts it there', async () => {
    const error = await errorOf({
      mode: 'timestamp_inconsistencies',
      variant: 'future_timestamp',
      params: { reference: '9999-12-30T00:00:00Z', offsetDays: 2 },
      seed: 0,
    });
    expect(error.field).toBe('params.reference');
    expect(error.message).toMatch(/2 days after 9999-12-30T00:00:00.000Z is past 9999-12-31/);
  });

  it('an unknown variant lists the known ones under `variant`', async () => {
    const error = await errorOf({ mode: 'invalid_angles', variant: 'roll', seed: 0 });
    expect(error.message).toBe(
      'variant: expected one of "gantry", "collimator", "both" (the variants of invalid_angles), received "roll"',
    );
  });
});
