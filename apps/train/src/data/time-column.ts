import { ConfigError } from '../config/load';
import type { TimeKind } from '../config/schema';
import { parseTimestamp } from './time';

const INTEGER = /^[+-]?\d+$/;

/** A column read as times: epoch milliseconds for timestamps, the sample number for an index. */
export interface TimeColumn {
  kind: 'timestamp' | 'index';
  t: Float64Array;
}

/**
 * Reads a time column. `auto` takes an integer index (0, 1, 2 …: many series have no clock) when
 * every cell is an integer, and timestamps otherwise; `timestamp` and `index` force one reading.
 * A bad cell is a ConfigError naming the file, the line and the column, and the key to set.
 */
export function readTimeColumn(
  cells: readonly string[],
  kind: TimeKind,
  where: { source: string; column: string; kindKey: string },
): TimeColumn {
  const trimmed = cells.map((c) => c.trim());
  const resolved = kind === 'auto' ? (trimmed.every((c) => INTEGER.test(c)) ? 'index' : 'timestamp') : kind;
  const t = new Float64Array(trimmed.length);
  trimmed.forEach((cell, i) => {
    const at = `${where.source}: line ${i + 2}, column "${where.column}"`;
    if (resolved === 'index') {
      if (!INTEGER.test(cell))
        throw new ConfigError(at, `an integer index (${where.kindKey} is index), got "${cell}"`);
      t[i] = Number(cell);
    } else {
      const v = parseTimestamp(cell);
      if (Number.isNaN(v))
        throw new ConfigError(
          at,
          `a timestamp (ISO, "YYYY.MM.DD.hh.mm.ss" or "DD-MM-YYYY hh:mm")${
            INTEGER.test(cell) ? ` or, with ${where.kindKey}: index or auto, an integer index` : ''
          }, got "${cell}"`,
        );
      t[i] = v;
    }
  });
  return { kind: resolved, t };
}

/**
 * Where a column's times step backwards (line numbers of the later row). Real series have such
 * steps (a clock set back by an hour); the file order stays the series order, and the run's notes
 * name the steps.
 */
export function backwardSteps(time: TimeColumn): number[] {
  const lines: number[] = [];
  for (let i = 1; i < time.t.length; i++) if (time.t[i]! < time.t[i - 1]!) lines.push(i + 2);
  return lines;
}
