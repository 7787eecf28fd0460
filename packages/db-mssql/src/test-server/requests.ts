import { readMetadata } from 'tedious/lib/metadata-parser.js';
import { isPLPStream, readValue } from 'tedious/lib/value-parser.js';
import type { BoundValue } from './engine';

/**
 * Decoding what the driver sends (MS-TDS 2.2.6): LOGIN7, SQL batches, RPC calls and
 * transaction-manager requests. RPC parameters are read with tedious' own TYPE_INFO and value
 * parsers (the server side of what tedious writes), except PLP (`max`) values, read here.
 */

export interface Login {
  user: string;
  password: string;
  database: string;
  appName: string;
  readOnlyIntent: boolean;
}

/** LOGIN7's password bytes: every byte XORed with 0xA5 after its nibbles were swapped. */
function unscramble(bytes: Buffer): string {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]! ^ 0xa5;
    out[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  return out.toString('ucs2');
}

export function parseLogin7(data: Buffer): Login {
  const typeFlags = data.readUInt8(26);
  // Offset/length pairs (in UCS-2 characters) start at byte 36: HostName, UserName, Password,
  // AppName, ServerName, Extension, CltIntName, Language, Database.
  const field = (index: number) => {
    const offset = data.readUInt16LE(36 + index * 4);
    const length = data.readUInt16LE(38 + index * 4);
    return data.subarray(offset, offset + length * 2);
  };
  return {
    user: field(1).toString('ucs2'),
    password: unscramble(field(2)),
    appName: field(3).toString('ucs2'),
    database: field(8).toString('ucs2'),
    readOnlyIntent: (typeFlags & 0x20) !== 0,
  };
}

/** Skips ALL_HEADERS (a total length first) and returns where the request's own data starts. */
function afterHeaders(data: Buffer): number {
  return data.readUInt32LE(0);
}

export function parseSqlBatch(data: Buffer): string {
  return data.subarray(afterHeaders(data)).toString('ucs2');
}

export type TransactionRequest =
  | { kind: 'begin'; isolation: number }
  | { kind: 'commit' }
  | { kind: 'rollback' };

export function parseTransactionRequest(data: Buffer): TransactionRequest {
  const at = afterHeaders(data);
  const type = data.readUInt16LE(at);
  if (type === 5) return { kind: 'begin', isolation: data.readUInt8(at + 2) };
  if (type === 7) return { kind: 'commit' };
  if (type === 8) return { kind: 'rollback' };
  throw new Error(`transaction manager request ${type} is not supported by the test server`);
}

export const ISOLATION_NAMES: Record<number, string> = {
  0: 'unchanged',
  1: 'read uncommitted',
  2: 'read committed',
  3: 'repeatable read',
  4: 'serializable',
  5: 'snapshot',
};

export interface RpcParam {
  name: string;
  /** tedious' name of the wire type (IntN, DateTimeN, NVarChar, ...). */
  type: string;
  value: BoundValue;
}

export interface RpcRequest {
  procedure: string | number;
  params: RpcParam[];
}

const PARSER_OPTIONS = {
  useUTC: true,
  lowerCaseGuids: false,
  tdsVersion: '7_4',
  useColumnNames: false,
  columnNameReplacer: undefined,
  camelCaseColumns: false,
} as const;

function readPlp(data: Buffer, at: number): { value: Buffer | null; next: number } {
  const total = data.readBigUInt64LE(at);
  let next = at + 8;
  if (total === 0xffffffffffffffffn) return { value: null, next };
  const parts: Buffer[] = [];
  for (;;) {
    const len = data.readUInt32LE(next);
    next += 4;
    if (len === 0) break;
    parts.push(data.subarray(next, next + len));
    next += len;
  }
  return { value: Buffer.concat(parts), next };
}

/** A parameter value as SQLite binds it: datetimes in epoch milliseconds, bits as 0/1. */
function bindable(type: string, value: unknown): BoundValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && type === 'IntN') {
    const n = BigInt(value); // bigint arrives as a string
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  if (Buffer.isBuffer(value) || typeof value === 'number' || typeof value === 'string') return value;
  throw new Error(`a parameter of type ${type} holds ${typeof value}, which the test server cannot bind`);
}

export function parseRpc(data: Buffer): RpcRequest {
  let at = afterHeaders(data);
  let procedure: string | number;
  const nameLength = data.readUInt16LE(at);
  at += 2;
  if (nameLength === 0xffff) {
    procedure = data.readUInt16LE(at);
    at += 2;
  } else {
    procedure = data.subarray(at, at + nameLength * 2).toString('ucs2');
    at += nameLength * 2;
  }
  at += 2; // option flags
  const params: RpcParam[] = [];
  while (at < data.length) {
    const chars = data.readUInt8(at);
    const name = data.subarray(at + 1, at + 1 + chars * 2).toString('ucs2');
    at += 1 + chars * 2 + 1; // name, status flags
    // readMetadata expects a column's UserType (4 bytes) and Flags (2) before TYPE_INFO; the six
    // bytes before it here (name and status) are read as those and ignored.
    if (at < 6) throw new Error('an RPC parameter without a name is not supported by the test server');
    const meta = readMetadata(data, at - 6, PARSER_OPTIONS as never);
    at = meta.offset;
    let value: unknown;
    if (isPLPStream(meta.value)) {
      const plp = readPlp(data, at);
      at = plp.next;
      const t = meta.value.type.name;
      value =
        plp.value === null
          ? null
          : t === 'NVarChar' || t === 'NChar'
            ? plp.value.toString('ucs2')
            : t === 'VarChar' || t === 'Char'
              ? plp.value.toString('latin1')
              : plp.value;
    } else {
      const r = readValue(data, at, meta.value, PARSER_OPTIONS as never);
      at = r.offset;
      value = r.value;
    }
    params.push({
      name: name.replace(/^@/, ''),
      type: meta.value.type.name,
      value: bindable(meta.value.type.name, value),
    });
  }
  return { procedure, params };
}
