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

export function errorToken(
  e: { number: number; message: string; severity: number; state: number },
  server: string,
): Buffer {
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

/** A growing buffer rows are written into (one allocation per result set, not one per cell). */
export class Sink {
  buf = Buffer.allocUnsafe(1 << 16);
  at = 0;
  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.at++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }
}

/** How a declared type goes over the wire. */
interface WireType {
  id: number;
  /** TYPE_INFO after the type id. */
  info: Buffer;
  /** Writes a value (or the NULL marker) with its length prefix. */
  write(sink: Sink, value: unknown): void;
  userType: number;
}

function fixedLength(id: number, size: number, write: (b: Buffer, at: number, v: unknown) => void): WireType {
  return {
    id,
    info: Buffer.from([size]),
    userType: 0,
    write: (sink, v) => {
      if (v === null || v === undefined) return sink.byte(0);
      sink.ensure(size + 1);
      sink.buf[sink.at] = size;
      write(sink.buf, sink.at + 1, v);
      sink.at += size + 1;
    },
  };
}

const MAX = 0xffff;

function variable(
  id: number,
  maxBytes: number,
  collated: boolean,
  toBytes: (v: unknown) => Uint8Array,
  userType = 0,
): WireType {
  const isMax = maxBytes < 0;
  const info = Buffer.alloc(collated ? 7 : 2);
  info.writeUInt16LE(isMax ? MAX : maxBytes, 0);
  if (collated) COLLATION.copy(info, 2);
  return {
    id,
    info,
    userType,
    write: (sink, v) => {
      const nul = v === null || v === undefined;
      if (isMax) {
        // PLP: total length, chunks (length + data), a zero-length terminator; NULL is all ones.
        sink.ensure(8);
        if (nul) {
          sink.buf.fill(0xff, sink.at, sink.at + 8);
          sink.at += 8;
          return;
        }
        const bytes = toBytes(v);
        sink.ensure(16 + bytes.length);
        sink.buf.writeBigUInt64LE(BigInt(bytes.length), sink.at);
        sink.at += 8;
        if (bytes.length > 0) {
          sink.buf.writeUInt32LE(bytes.length, sink.at);
          sink.at += 4;
          sink.bytes(bytes);
        }
        sink.buf.writeUInt32LE(0, sink.at);
        sink.at += 4;
        return;
      }
      sink.ensure(2);
      if (nul) {
        sink.buf.writeUInt16LE(0xffff, sink.at);
        sink.at += 2;
        return;
      }
      const bytes = toBytes(v);
      sink.buf.writeUInt16LE(bytes.length, sink.at);
      sink.at += 2;
      sink.bytes(bytes);
    },
  };
}

const asBytes = (v: unknown) => v as Uint8Array;
const DAY = 86_400_000;
const EPOCH_1900 = Date.UTC(1900, 0, 1);

function decimalSize(precision: number): number {
  return precision <= 9 ? 5 : precision <= 19 ? 9 : precision <= 28 ? 13 : 17;
}

export function wireType(c: DeclaredColumn): WireType {
  switch (c.type) {
    case 'int':
      return fixedLength(0x26, 4, (b, at, v) => b.writeInt32LE(Number(v), at));
    case 'smallint':
      return fixedLength(0x26, 2, (b, at, v) => b.writeInt16LE(Number(v), at));
    case 'tinyint':
      return fixedLength(0x26, 1, (b, at, v) => b.writeUInt8(Number(v), at));
    case 'bigint':
      return fixedLength(0x26, 8, (b, at, v) => b.writeBigInt64LE(BigInt(v as number), at));
    case 'bit':
      return fixedLength(0x68, 1, (b, at, v) => b.writeUInt8(Number(v) ? 1 : 0, at));
    case 'float':
      return fixedLength(0x6d, 8, (b, at, v) => b.writeDoubleLE(Number(v), at));
    case 'real':
      return fixedLength(0x6d, 4, (b, at, v) => b.writeFloatLE(Number(v), at));
    case 'datetime':
      return fixedLength(0x6f, 8, (b, at, v) => {
        const ms = Number(v);
        const days = Math.floor((ms - EPOCH_1900) / DAY);
        b.writeInt32LE(days, at);
        b.writeUInt32LE(Math.round((ms - EPOCH_1900 - days * DAY) * 0.3), at + 4);
      });
    case 'decimal': {
      const precision = c.precision ?? 18;
      const scale = c.scale ?? 0;
      const size = decimalSize(precision);
      return {
        id: 0x6a,
        info: Buffer.from([size, precision, scale]),
        userType: 0,
        write: (sink, v) => {
          if (v === null || v === undefined) return sink.byte(0);
          const n = Number(v);
          sink.ensure(size + 1);
          const b = sink.buf;
          const at = sink.at;
          b[at] = size;
          b[at + 1] = n < 0 ? 0 : 1;
          const m = Math.round(Math.abs(n) * 10 ** scale);
          if (m <= 0xffffffff) {
            b.writeUInt32LE(m, at + 2);
            b.fill(0, at + 6, at + size + 1);
          } else {
            let big = BigInt(m);
            for (let i = at + 2; i < at + size + 1; i++) {
              b[i] = Number(big & 0xffn);
              big >>= 8n;
            }
          }
          sink.at += size + 1;
        },
      };
    }
    case 'varchar':
      return variable(0xa7, c.length ?? 8000, true, (v) => Buffer.from(String(v), 'latin1'));
    case 'char':
      return variable(0xaf, c.length ?? 1, true, (v) => Buffer.from(String(v), 'latin1'));
    case 'nvarchar':
      return variable(0xe7, c.length === undefined || c.length < 0 ? -1 : c.length * 2, true, (v) =>
        Buffer.from(String(v), 'ucs2'),
      );
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

/** The ROW tokens of a result set, in one buffer. */
export function rowTokens(
  types: readonly WireType[],
  rows: readonly (readonly unknown[])[],
  sink = new Sink(),
): Buffer {
  for (const row of rows) {
    sink.byte(TOKEN.ROW);
    for (let i = 0; i < types.length; i++) types[i]!.write(sink, row[i]);
  }
  return sink.take();
}
