import { ValidationError } from '@anomalia/core';
import type { SqlType } from './sql-types';
import { MOSAIQ_TABLES, parseRow, type Row, type TableName } from './tables';

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). Returns rows of raw strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      inQuotes = true;
      i++;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (ch === '\n' || ch === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (inQuotes) throw new ValidationError('csv', 'a closing quote before the end of the text');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64_LOOKUP = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64.length; i++) t[B64.charCodeAt(i)] = i;
  t['+'.charCodeAt(0)] = 62;
  t['-'.charCodeAt(0)] = 62;
  t['/'.charCodeAt(0)] = 63;
  t['_'.charCodeAt(0)] = 63;
  return t;
})();

/** Decodes base64 in either alphabet (standard or URL-safe), padded or not. */
export function decodeBase64(text: string, field = 'base64'): Uint8Array {
  const s = text.replace(/=+$/, '');
  if (s.length % 4 === 1) throw new ValidationError(field, 'base64 text (its length is impossible)', text);
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const v = code < 128 ? B64_LOOKUP[code]! : -1;
    if (v < 0) throw new ValidationError(field, 'base64 text', `character ${JSON.stringify(s[i])} at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Encodes bytes as URL-safe base64 with padding (the format of pymedphys' Mosaiq CSV extracts). */
export function encodeBase64Url(bytes: Uint8Array): string {
  const alphabet = `${B64}-_`;
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]! + alphabet[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out += `${alphabet[v >> 18]!}${alphabet[(v >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${alphabet[v >> 18]!}${alphabet[(v >> 12) & 63]!}${alphabet[(v >> 6) & 63]!}=`;
  }
  return out;
}

/**
 * Reads a Mosaiq table extract in pymedphys' CSV format (an unnamed index column first, binary
 * columns as URL-safe base64, empty cells NULL) into validated rows. Columns Anomalia uses are
 * typed; any others pass through as strings (or null when empty). A bad cell is a
 * ValidationError naming the CSV line and the column.
 */
export function readMosaiqCsv<T extends TableName>(table: T, text: string): Row<T>[] {
  const lines = parseCsv(text);
  const header = lines[0];
  if (!header) throw new ValidationError('csv', 'a header line');
  const types = MOSAIQ_TABLES[table].columns as Record<string, SqlType>;
  for (const column of Object.keys(types)) {
    if (!header.includes(column))
      throw new ValidationError(`csv header`, `a column named ${column} (${table})`);
  }
  const out: Row<T>[] = [];
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!;
    if (cells.length === 1 && cells[0] === '') continue;
    if (cells.length !== header.length) {
      throw new ValidationError(`csv line ${r + 1}`, `${header.length} cells`, cells.length);
    }
    const raw: Record<string, unknown> = {};
    for (let c = 0; c < header.length; c++) {
      const name = header[c]!;
      if (name === '') continue;
      const cell = cells[c]!;
      const type = types[name];
      if (cell === '') raw[name] = null;
      else if (type === 'binary' || type === 'timestamp')
        raw[name] = decodeBase64(cell, `csv line ${r + 1}: ${name}`);
      else raw[name] = cell;
    }
    out.push(parseRow(table, raw, `csv line ${r + 1}`));
  }
  return out;
}
