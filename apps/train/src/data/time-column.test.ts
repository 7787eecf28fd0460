import { describe, expect, it } from 'vitest';
import { backwardSteps, readTimeColumn } from './time-column';

const where = { source: 'a.csv', column: 'idx', kindKey: 'dataset.timeKind' };

describe('time columns', () => {
  it('reads a column of integers as an index and anything else as timestamps (auto)', () => {
    expect(readTimeColumn(['0', '1', ' 2 ', '10'], 'auto', where)).toEqual({
      kind: 'index',
      t: Float64Array.from([0, 1, 2, 10]),
    });
    const ts = readTimeColumn(
      ['2004.02.12.10.32.39', '2014-07-01 00:05:00', '12-02-2004 10:32'],
      'auto',
      where,
    );
    expect(ts.kind).toBe('timestamp');
    expect(ts.t[0]).toBe(Date.UTC(2004, 1, 12, 10, 32, 39));
    expect(ts.t[1]).toBe(Date.UTC(2014, 6, 1, 0, 5));
  });

  it('forces a reading and names the file, line, column and key on a bad cell', () => {
    expect(() => readTimeColumn(['0', '1'], 'timestamp', where)).toThrow(
      'a.csv: line 2, column "idx": a timestamp (ISO, "YYYY.MM.DD.hh.mm.ss" or "DD-MM-YYYY hh:mm") or, with dataset.timeKind: index or auto, an integer index, got "0"',
    );
    expect(() => readTimeColumn(['0', '1.5'], 'index', where)).toThrow(
      'a.csv: line 3, column "idx": an integer index (dataset.timeKind is index), got "1.5"',
    );
    // A mixed column is read as timestamps under auto, so the integer is the bad cell.
    expect(() => readTimeColumn(['2014-07-01', '7'], 'auto', where)).toThrow(/line 3, .*got "7"/);
  });

  it('finds where times step backwards', () => {
    expect(backwardSteps({ kind: 'index', t: Float64Array.from([0, 1, 2, 3]) })).toEqual([]);
    expect(backwardSteps({ kind: 'index', t: Float64Array.from([0, 1, 0, 1, 2, 1]) })).toEqual([4, 7]);
  });
});
