import WritableTrackingBuffer from 'tedious/lib/tracking-buffer/writable-tracking-buffer.js';
import type { DeclaredColumn } from '../column-types';
import type { ResultColumn } from './engine';

/**
 * The server side of TDS 7.4's token stream (MS-TDS 2.2.7), written with tedious' own
 * WritableTrackingBuffer: what the test server answers a login, a batch, an RPC or a
 * transaction-manager request with. Every type is sent as SQL Server sends a nullable column of
 * it (INTN, BITN, DECIMALN, FLTN, DATETIMEN, BIGVARCHAR..., PLP for `max`).
 */

export const TOKEN = {
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  INFO: 0xab,
  LOGINACK: 0xad,
  ROW: 0xd1,
  ENVCHANGE: 0xe3,
  RETURNSTATUS: 0x79,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff,
} as const;

export const DONE_STATUS = { FINAL: 0, MORE: 0x1, ERROR: 0x2, INXACT: 0x4, COUNT: 0x10, ATTN: 0x20 } as const;

/** SQL_Latin1_General_CP1_CI_AS: LCID 1033, case- and accent-insensitive flags, sort id 52 (code page 1252). */
export const COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

const buffer = () => new WritableTrackingBuffer(64, 'ucs2');

export function loginAck(programName = 'Anomalia TDS test server'): Buffer {
  const body = buffer();
  body.writeUInt8(0x01); // interface: SQL_TSQL
  body.writeUInt32BE(0x74000004); // TDS 7.4
  body.writeBVarchar(programName, 'ucs2');
  body.writeUInt8(16); // version 16.0.1000
  body.writeUInt8(0);
  body.writeUInt16BE(1000);
  const out = buffer();
  out.writeUInt8(TOKEN.LOGINACK);
  out.writeUsVarbyte(body.data);
  return out.data;
}

/** ENVCHANGE with string values (database, language, packet size). */
export function envChangeString(type: number, next: string, previous: string): Buffer {
  const body = buffer();
  body.writeUInt8(type);
  body.writeBVarchar(next, 'ucs2');
  body.writeBVarchar(previous, 'ucs2');
  const out = buffer();
  out.writeUInt8(TOKEN.ENVCHANGE);
  out.writeUsVarbyte(body.data);
  return out.data;
}

/** ENVCHANGE with binary values (collation 7, begin 8 / commit 9 / rollback 10 transaction). */
export function envChangeBytes(type: number, next: Buffer, previous: Buffer): Buffer {
  const body = buffer();
  body.writeUInt8(type);
  body.writeUInt8(next.length);
  body.writeBuffer(next);
  body.writeUInt8(previous.length);
  body.writeBuffer(previous);
  const out = buffer();
  out.writeUInt8(TOKEN.ENVCHANGE);
  out.writeUsVarbyte(body.data);
  return out.data;
}

export function done(token: number, status: number, rowCount = 0, command = 0xc1): Buffer {
  const out = buffer();
  out.writeUInt8(token);
  out.writeUInt16LE(status);
  out.writeUInt16LE(command);
  out.writeUInt64LE(rowCount);
  return out.data;
}

export function returnStatus(value: number): Buffer {
  const out = buffer();
  out.writeUInt8(TOKEN.RETURNSTATUS);
  out.writeInt32LE(value);
  return out.data;
}

export function errorToken(e: { number: number; message: string; severity: number; state: number }, server: string): Buffer {
  const body = buffer();
  body.writeInt32LE(e.number);
  body.writeUInt8(e.state);
  body.writeUInt8(e.severity);
  body.writeUsVarchar(e.message, 'ucs2');
  body.writeBVarchar(server, 'ucs2');
  body.writeBVarchar('', 'ucs2');
  body.writeInt32LE(1);
  const out = buffer();
  out.writeUInt8(e.severity > 10 ? TOKEN.ERROR : TOKEN.INFO);
  out.writeUsVarbyte(body.data);
  return out.data;
}

// ---------- result sets ----------

const MAX = 0xffff;

/** How a declared type goes over the wire. */
interface WireType {
  id: number;
  /** TYPE_INFO after the type id. */
  info: Buffer;
  /** A non-NULL value's bytes with their length prefix; `encode(null)` the NULL marker. */
  encode(value: unknown): Buffer[];
  userType: number;
}

function fixedLength(id: number, size: number, write: (b: Buffer, v: unknown) => void): WireType {
  return {
    id,
    info: Buffer.from([size]),
    userType: 0,
    encode: (v) => {
      if (v === null || v === undefined) return [Buffer.from([0])];
      const b = Buffer.alloc(size + 1);
      b[0] = size;
      write(b.subarray(1), v);
      return [b];
    },
  };
}

function plp(bytes: Buffer | null): Buffer[] {
  // (PLP: total length, chunks of length + data, a zero-length terminator; NULL is all ones.)
  if (bytes === null) return [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])];
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(bytes.length));
  const parts: Buffer[] = [head];
  if (bytes.length > 0) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length);
    parts.push(len, bytes);
  }
  parts.push(Buffer.alloc(4)); // terminator
  return parts;
}

function variable(id: number, maxBytes: number, collated: boolean, toBytes: (v: unknown) => Buffer, userType = 0): WireType {
  const isMax = maxBytes < 0;
  const info = Buffer.alloc(collated ? 7 : 2);
  info.writeUInt16LE(isMax ? MAX : maxBytes, 0);
  if (collated) COLLATION.copy(info, 2);
  return {
    id,
    info,
    userType,
    encode: (v) => {
      if (isMax) return plp(v === null || v === undefined ? null : toBytes(v));
      if (v === null || v === undefined) return [Buffer.from([0xff, 0xff])];
      const bytes = toBytes(v);
      const len = Buffer.alloc(2);
      len.writeUInt16LE(bytes.length);
      return [len, bytes];
    },
  };
}

const asBytes = (v: unknown) => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));
const DAY = 86_400_000;
const EPOCH_1900 = Date.UTC(1900, 0, 1);

function decimalSize(precision: number): number {
  return precision <= 9 ? 5 : precision <= 19 ? 9 : precision <= 28 ? 13 : 17;
}

export function wireType(c: DeclaredColumn): WireType {
  switch (c.type) {
    case 'int':
      return fixedLength(0x26, 4, (b, v) => b.writeInt32LE(Number(v)));
    case 'smallint':
      return fixedLength(0x26, 2, (b, v) => b.writeInt16LE(Number(v)));
    case 'tinyint':
      return fixedLength(0x26, 1, (b, v) => b.writeUInt8(Number(v)));
    case 'bigint':
      return fixedLength(0x26, 8, (b, v) => b.writeBigInt64LE(BigInt(v as number)));
    case 'bit':
      return { ...fixedLength(0x68, 1, (b, v) => b.writeUInt8(Number(v) ? 1 : 0)) };
    case 'float':
      return fixedLength(0x6d, 8, (b, v) => b.writeDoubleLE(Number(v)));
    case 'real':
      return fixedLength(0x6d, 4, (b, v) => b.writeFloatLE(Number(v)));
    case 'datetime':
      return fixedLength(0x6f, 8, (b, v) => {
        const ms = Number(v);
        const days = Math.floor((ms - EPOCH_1900) / DAY);
        const ticks = Math.round((ms - EPOCH_1900 - days * DAY) * 0.3);
        b.writeInt32LE(days, 0);
        b.writeUInt32LE(ticks, 4);
      });
    case 'decimal': {
      const precision = c.precision ?? 18;
      const scale = c.scale ?? 0;
      const size = decimalSize(precision);
      return {
        id: 0x6a,
        info: Buffer.from([size, precision, scale]),
        userType: 0,
        encode: (v) => {
          if (v === null || v === undefined) return [Buffer.from([0])];
          const n = Number(v);
          const b = Buffer.alloc(size + 1);
          b[0] = size;
          b[1] = n < 0 ? 0 : 1;
          let m = BigInt(Math.round(Math.abs(n) * 10 ** scale));
          for (let i = 2; i < size + 1; i++) {
            b[i] = Number(m & 0xffn);
            m >>= 8n;
          }
          return [b];
        },
      };
    }
    case 'varchar':
      return variable(0xa7, c.length ?? 8000, true, (v) => Buffer.from(String(v), 'latin1'));
    case 'char':
      return variable(0xaf, c.length ?? 1, true, (v) => Buffer.from(String(v), 'latin1'));
    case 'nvarchar':
      return variable(0xe7, c.length === undefined || c.length < 0 ? -1 : c.length * 2, true, (v) => Buffer.from(String(v), 'ucs2'));
    case 'nchar':
      return variable(0xef, (c.length ?? 1) * 2, true, (v) => Buffer.from(String(v), 'ucs2'));
    case 'binary':
      return variable(0xad, c.length ?? 1, false, asBytes);
    case 'varbinary':
      return variable(0xa5, c.length ?? 8000, false, asBytes);
    case 'timestamp':
      return variable(0xad, 8, false, asBytes, 80);
  }
}

/** COLMETADATA for a result set, and the encoders of its rows. */
export function colMetadata(columns: readonly ResultColumn[]): { token: Buffer; types: WireType[] } {
  const out = buffer();
  out.writeUInt8(TOKEN.COLMETADATA);
  out.writeUInt16LE(columns.length);
  const types = columns.map((c) => {
    const t = wireType(c.column);
    out.writeUInt32LE(t.userType);
    // fNullable, fUpdateable = read/write (rowversion read-only), fIdentity.
    let flags = c.nullable ? 0x01 : 0;
    if (!c.column.readOnly) flags |= 0x04;
    if (c.column.identity) flags |= 0x10;
    out.writeUInt16LE(flags);
    out.writeUInt8(t.id);
    out.writeBuffer(t.info);
    out.writeBVarchar(c.name, 'ucs2');
    return t;
  });
  return { token: out.data, types };
}

export function rowToken(types: readonly WireType[], row: readonly unknown[]): Buffer {
  const parts: Buffer[] = [Buffer.from([TOKEN.ROW])];
  types.forEach((t, i) => {
    for (const p of t.encode(row[i])) parts.push(p);
  });
  return Buffer.concat(parts);
}
