import { describe, expect, it } from 'vitest';
import {
  type DeclaredColumn,
  declaration,
  storedValue,
  toDatetimeGrid,
  toDecimalScale,
} from './column-types';

const col = (c: Omit<DeclaredColumn, 'name'>): DeclaredColumn => ({ name: 'X', ...c });

describe('what SQL Server stores', () => {
  it('puts datetimes on the 1/300 s grid, as the driver writes and reads them', () => {
    const cases: [string, string][] = [
      ['2024-01-01T07:01:56.001Z', '2024-01-01T07:01:56.000Z'],
      ['2024-01-01T07:01:56.002Z', '2024-01-01T07:01:56.003Z'],
      ['2024-01-01T07:01:56.005Z', '2024-01-01T07:01:56.007Z'],
      ['2024-01-01T07:01:56.009Z', '2024-01-01T07:01:56.010Z'],
      ['2024-01-01T23:59:59.999Z', '2024-01-02T00:00:00.000Z'],
      ['1899-12-31T23:59:59.997Z', '1899-12-31T23:59:59.997Z'],
    ];
    for (const [given, stored] of cases)
      expect(toDatetimeGrid(new Date(given)).toISOString(), given).toBe(stored);
    // Values already on the grid stay where they are.
    for (let ms = 0; ms < 1000; ms++) {
      const d = toDatetimeGrid(new Date(Date.UTC(2020, 4, 27, 7, 55, 23, ms)));
      expect(toDatetimeGrid(d).getTime()).toBe(d.getTime());
    }
  });

  it('rounds decimals to their scale (no negative zero) and checks their precision', () => {
    expect(toDecimalScale(12.34567, 4)).toBe(12.3457);
    expect(toDecimalScale(-0.00001, 2)).toBe(0);
    expect(Object.is(toDecimalScale(-0.00001, 2), -0)).toBe(false);
    const d = col({ type: 'decimal', precision: 8, scale: 3 });
    expect(storedValue(d, 12345.6784, 'v')).toBe(12345.678);
    expect(() => storedValue(d, 100000, 'v')).toThrow(
      'v: expected a number below 10^5 in magnitude (the column is decimal(8,3)), received 100000',
    );
  });

  it('pads char(n), checks lengths and the code page of varchar, and refuses a binary(n) of another length', () => {
    expect(storedValue(col({ type: 'char', length: 8 }), 'LINAC', 'v')).toBe('LINAC   ');
    expect(storedValue(col({ type: 'varchar', length: 8 }), 'Ångström', 'v')).toBe('Ångström');
    expect(() => storedValue(col({ type: 'varchar', length: 4 }), 'LINAC', 'v')).toThrow(
      'v: expected at most 4 characters (the column is varchar(4))',
    );
    expect(() => storedValue(col({ type: 'varchar', length: 40 }), 'Žofie ✓', 'v')).toThrow(
      /single-byte code page/,
    );
    expect(storedValue(col({ type: 'nvarchar', length: 40 }), 'Žofie ✓', 'v')).toBe('Žofie ✓');
    const leaves = new Uint8Array(200);
    expect(storedValue(col({ type: 'binary', length: 200 }), leaves, 'v')).toBe(leaves);
    expect(() => storedValue(col({ type: 'binary', length: 200 }), new Uint8Array(199), 'v')).toThrow(
      'v: expected exactly 200 bytes (the column is binary(200)), received a Uint8Array of length 199',
    );
    expect(storedValue(col({ type: 'varbinary', length: 200 }), new Uint8Array(3), 'v')).toHaveLength(3);
  });

  it('checks integer ranges, bits, and refuses to write a rowversion', () => {
    expect(() => storedValue(col({ type: 'tinyint' }), 256, 'v')).toThrow(
      'v: expected an integer in [0, 255] (the column is tinyint), received 256',
    );
    expect(() => storedValue(col({ type: 'int' }), 1.5, 'v')).toThrow(/an integer/);
    expect(() => storedValue(col({ type: 'bit' }), 1, 'v')).toThrow(/true or false/);
    expect(() => storedValue(col({ type: 'timestamp', readOnly: true }), new Uint8Array(8), 'v')).toThrow(
      /read-only/,
    );
    expect(() => storedValue(col({ type: 'datetime' }), new Date('1700-01-01T00:00:00Z'), 'v')).toThrow(
      /from 1753 to 9999/,
    );
    expect(storedValue(col({ type: 'int' }), null, 'v')).toBeNull();
  });

  it('spells declarations as T-SQL does', () => {
    expect(declaration({ type: 'decimal', precision: 10, scale: 4 })).toBe('decimal(10,4)');
    expect(declaration({ type: 'varbinary', length: -1 })).toBe('varbinary(max)');
    expect(declaration({ type: 'int' })).toBe('int');
  });
});
