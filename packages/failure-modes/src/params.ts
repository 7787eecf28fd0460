import type { TxFieldPointRow } from '@anomalia/mosaiq';
import { z } from 'zod';

/**
 * Which control points of a field a variant touches: `first` / `last` (in Point order), `all`, or
 * explicit `Point` values (as the original `points_to_delete`).
 */
export const pointSelection = (defaultValue: 'first' | 'last' | 'all') =>
  z
    .union(
      [
        z.enum(['first', 'last', 'all']),
        z
          .array(z.number().int().min(0).max(32767))
          .min(1)
          .refine((a) => new Set(a).size === a.length, 'distinct Point values'),
      ],
      { error: '"first", "last", "all" or a non-empty array of distinct Point values' },
    )
    .default(defaultValue)
    .describe('control points to change: "first", "last", "all" or Point values');
export type PointSelection = 'first' | 'last' | 'all' | number[];

/** The control points a selection names, or a reason why it names none / a missing Point. */
export function selectPoints(
  points: readonly TxFieldPointRow[],
  selection: PointSelection,
): { points: TxFieldPointRow[] } | { reason: string } {
  if (points.length === 0) return { reason: 'the field has no control points' };
  if (selection === 'first') return { points: [points[0]!] };
  if (selection === 'last') return { points: [points[points.length - 1]!] };
  if (selection === 'all') return { points: [...points] };
  const out: TxFieldPointRow[] = [];
  for (const p of selection) {
    const found = points.find((cp) => cp.Point === p);
    if (!found) {
      const have = points.map((cp) => cp.Point).filter((x) => x !== null);
      return {
        reason: `the field has no control point with Point ${p} (it has ${have.length > 0 ? `${Math.min(...have)}–${Math.max(...have)}` : 'none'})`,
      };
    }
    out.push(found);
  }
  return { points: out };
}

/** The instants an SQL Server `datetime` (Mosaiq's timestamps) can hold: 1753-01-01 to 9999-12-31. */
export const SQL_DATETIME_MIN = Date.UTC(1753, 0, 1);
export const SQL_DATETIME_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 997);

/** Whether a time (ms since the epoch) fits an SQL Server `datetime`. */
export const isSqlDateTime = (ms: number): boolean => ms >= SQL_DATETIME_MIN && ms <= SQL_DATETIME_MAX;

/**
 * A datetime parameter: a Date, an ISO string or epoch milliseconds (tool inputs are JSON), within
 * SQL Server's datetime range (any number used to pass, and one beyond JavaScript's dates made
 * an Invalid Date that failed later as a bare RangeError).
 */
export const dateParam = z
  .union([z.date(), z.iso.datetime({ offset: true }), z.number()], {
    error: 'a Date, an ISO datetime with offset, or epoch milliseconds',
  })
  .refine(
    (v) => isSqlDateTime(toDate(v).getTime()),
    'an instant from 1753-01-01 to 9999-12-31 (the range of an SQL Server datetime)',
  );
export function toDate(value: Date | string | number): Date {
  return value instanceof Date ? value : new Date(value);
}

/**
 * JSON Schema (draft 2020-12) of a parameter schema, as a tool's input: the input side (defaults
 * optional), with Date members written as `date-time` strings.
 */
export function paramsJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      if ((ctx.zodSchema as { _zod: { def: { type: string } } })._zod.def.type === 'date') {
        ctx.jsonSchema.type = 'string';
        ctx.jsonSchema.format = 'date-time';
      }
    },
  }) as Record<string, unknown>;
}
