import { ValidationError } from '@anomalia/core';
import { type ColumnValue, SQL_TYPES, type SqlType } from '@anomalia/mosaiq';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSchema } from './schema';
import { decodeValue, encodeValue, SQLITE_STORAGE } from './sqlite-types';
import { quote, TableCodec, tableCodec } from './table-codec';

/** Edge values of every SQL type, as held in memory. */
const SAMPLES: Record<SqlType, ColumnValue[]> = {
  int: [-2147483648, -1, 0, 2147483647],
  smallint: [-32768, 32767],
  tinyint: [0, 255],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  bit: [true, false],
  decimal: [0.1, -123.456, 1e-300, 1.7976931348623157e308, 0.30000000000000004],
  float: [Math.PI, -0.5],
  datetime: [new Date('2024-03-04T09:00:00.123Z'), new Date('1950-06-01T00:00:00.999Z'), new Date(0)],
  varchar: ['', 'Prostate — 78 Gy', 'ü\u0000x'],
  char: ['LA1                 '],
  binary: [
    new Uint8Array(0),
    Uint8Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff),
    new Uint8Array([255]),
  ],
  timestamp: [new Uint8Array([0, 0, 0, 0, 0, 0, 0x03, 0xe8])],
};

describe('SQLite codecs', () => {
  const db = new Database(':memory:');
  afterAll(() => db.close());

  it('round-trips every SQL type exactly through its SQLite storage class', () => {
    for (const type of SQL_TYPES) {
      db.exec(`CREATE TABLE "t_${type}" (v ${SQLITE_STORAGE[type]}) STRICT`);
      for (const value of [...SAMPLES[type], null]) {
        db.prepare(`DELETE FROM "t_${type}"`).run();
        db.prepare(`INSERT INTO "t_${type}" (v) VALUES (?)`).run(encodeValue(type, value, type));
        const stored = db.prepare(`SELECT v, typeof(v) AS t FROM "t_${type}"`).get() as {
          v: unknown;
          t: string;
        };
        expect(stored.t, `${type} ${String(value)}`).toBe(
          value === null ? 'null' : SQLITE_STORAGE[type].toLowerCase(),
        );
        const back = decodeValue(type, stored.v, type);
        expect(back, `${type} ${String(value)}`).toEqual(value);
        if (back instanceof Uint8Array) expect(back.constructor).toBe(Uint8Array);
        if (typeof value === 'number') expect(Object.is(back, value)).toBe(true);
      }
    }
  });

  it('stores -0 as 0 (SQLite REAL, like SQL Server decimal, has no negative zero)', () => {
    db.exec('CREATE TABLE "neg" (v REAL) STRICT');
    db.prepare('INSERT INTO "neg" (v) VALUES (?)').run(encodeValue('decimal', -0, 'x'));
    const v = decodeValue('decimal', db.prepare('SELECT v FROM "neg"').pluck().get(), 'x');
    expect(Object.is(v, 0)).toBe(true);
  });

  it('refuses values of the wrong type on the way in and on the way out', () => {
    expect(() => encodeValue('bit', 1, 'TrackTreatment.WasQAMode')).toThrow(
      /TrackTreatment\.WasQAMode: expected an SQL bit/,
    );
    expect(() => encodeValue('datetime', new Date(Number.NaN), 'x')).toThrow(ValidationError);
    expect(() => encodeValue('tinyint', 256, 'x')).toThrow(/tinyint \(an INTEGER in \[0, 255\]\)/);
    expect(() => encodeValue('decimal', Number.POSITIVE_INFINITY, 'x')).toThrow(/finite REAL/);
    expect(() => encodeValue('binary', [1, 2], 'x')).toThrow(/BLOB/);
    expect(() => decodeValue('bit', 2, 'x')).toThrow(/expected an SQL bit/);
    expect(() => decodeValue('datetime', 1.5, 'x')).toThrow(/epoch milliseconds/);
    expect(() => decodeValue('varchar', 12, 'x')).toThrow(/TEXT/);
  });
});

describe('TableCodec', () => {
  const db = new Database(':memory:');
  createSchema(db);
  afterAll(() => db.close());
  const codec = tableCodec('TrackTreatment');

  it('decodes a bad stored row into an error naming table, key and column', () => {
    db.prepare('INSERT INTO "TrackTreatment" ("TTX_ID", "WasQAMode", "Create_DtTm") VALUES (7, 2, 0)').run();
    const raw = db.prepare(`SELECT ${codec.selectList} FROM "TrackTreatment"`).raw(true).get() as unknown[];
    expect(() => codec.decode(raw)).toThrow(
      'TrackTreatment[TTX_ID=7].WasQAMode: expected an SQL bit (INTEGER 0 or 1; true/false in memory), received 2',
    );
    expect(() => codec.decodeAll([raw])).toThrow(ValidationError);
  });

  it('encodes rows in column order, absent columns as NULL, and names a bad cell', () => {
    const values = codec.encode({ TTX_ID: 1, WasQAMode: true, Create_DtTm: new Date(5) });
    expect(values).toHaveLength(codec.columns.length);
    expect(values[codec.columns.indexOf('WasQAMode')]).toBe(1);
    expect(values[codec.columns.indexOf('Create_DtTm')]).toBe(5);
    expect(values[codec.columns.indexOf('Edit_DtTm')]).toBeNull();
    expect(() => codec.encode({ TTX_ID: 1, Pat_ID1: 'x' })).toThrow(/TrackTreatment\[TTX_ID=1\]\.Pat_ID1/);
    expect(() => codec.encode({ Pat_ID1: 1 })).toThrow(/TrackTreatment\[TTX_ID=undefined\]\.TTX_ID/);
  });

  it('shares equal datetimes of control points within a batch but not between batches', () => {
    const points = tableCodec('TxFieldPoint');
    const raws = [
      points.encode({ TFP_ID: 1, Create_DtTm: new Date(9) }),
      points.encode({ TFP_ID: 2, Create_DtTm: new Date(9) }),
    ];
    const [a, b] = points.decodeAll(raws);
    expect(a!.Create_DtTm).toBe(b!.Create_DtTm);
    expect(points.decodeAll(raws)[0]!.Create_DtTm).not.toBe(a!.Create_DtTm);
    expect(points.decode(raws[0]!).Create_DtTm).toEqual(new Date(9));
    // Treatment times are events: no sharing.
    const tts = [
      codec.encode({ TTX_ID: 1, Create_DtTm: new Date(9) }),
      codec.encode({ TTX_ID: 2, Create_DtTm: new Date(9) }),
    ];
    const [c, d] = codec.decodeAll(tts);
    expect(c!.Create_DtTm).not.toBe(d!.Create_DtTm);
    expect(c!.Create_DtTm).toEqual(d!.Create_DtTm);
  });

  it('reads a subset of columns, which must include the key', () => {
    const sub = new TableCodec('TrackTreatment', ['TTX_ID', 'Pat_ID1']);
    expect(sub.decode([3, null])).toEqual({ TTX_ID: 3, Pat_ID1: null });
    expect(() => new TableCodec('TrackTreatment', ['Pat_ID1'])).toThrow(/including TTX_ID/);
    expect(() => new TableCodec('TrackTreatment', ['TTX_ID', 'Nope'])).toThrow(/columns of TrackTreatment/);
  });

  it('quotes reserved words', () => {
    expect(quote('Index')).toBe('"Index"');
    expect(quote('a"b')).toBe('"a""b"');
  });
});
