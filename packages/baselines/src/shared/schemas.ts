import { ValidationError } from '@anomalia/core';
import { z } from 'zod';

/**
 * A size given either as a fraction of a total (a number in (0, 1]) or as an absolute count
 * (an integer ≥ 2). JavaScript has one number type, so 1 means "all" (scikit-learn's 1.0);
 * an absolute count of one is never useful for these models.
 */
export const CountOrFractionSchema = z
  .number()
  .positive()
  .refine((v) => v <= 1 || Number.isInteger(v), {
    message: 'a fraction in (0, 1] or an integer count ≥ 2',
  });

/** Resolves a count-or-fraction against a total, never below 1. */
export function resolveCountOrFraction(value: number, total: number): number {
  return value <= 1 ? Math.max(1, Math.floor(value * total)) : value;
}

/** Throws a ValidationError unless X has at least `min` rows. */
export function requireRows(rows: number, min: number, why: string): void {
  if (rows < min) throw new ValidationError('X.rows', `at least ${min} rows ${why}`, rows);
}
