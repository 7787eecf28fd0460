/**
 * The thread behind `openThreadedTreatmentReader`: one SqliteTreatmentReader, answering the
 * caller's requests in the order they arrive, one at a time (better-sqlite3 is synchronous, so
 * each message is handled to the end before the next).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { LoadedRecords } from '@anomalia/mosaiq';
import { openTreatmentReader, type ReaderOptions, type SqliteTreatmentReader } from './reader';
import { type SerializedError, serializeError } from './thread-errors';

/** What the thread is started with. */
export interface ReaderThreadInit {
  path: string;
  options: Omit<ReaderOptions, 'onQuery'>;
  /** Send each statement's SQL back, for the caller's `onQuery` (a function cannot cross threads). */
  forwardQueries: boolean;
}

export type ReaderThreadMethod =
  | 'listTreatments'
  | 'loadRecords'
  | 'changesSince'
  | 'currentWatermark'
  | 'maxKeys'
  | 'tablePresence'
  | 'unrestoredRuns'
  | 'close';

export interface ReaderThreadRequest {
  id: number;
  method: ReaderThreadMethod;
  args: unknown[];
}

/** Messages from the thread, in this order: queries of the open, then `ready` or `open-failed`, then results. */
export type ReaderThreadMessage =
  | { kind: 'ready' }
  | { kind: 'open-failed'; error: SerializedError }
  | { kind: 'query'; sql: string }
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: SerializedError };

function answer(reader: SqliteTreatmentReader, { method, args }: ReaderThreadRequest): unknown {
  switch (method) {
    case 'listTreatments':
      return reader.listTreatmentsSync(args[0] as Parameters<SqliteTreatmentReader['listTreatmentsSync']>[0]);
    case 'loadRecords':
      return reader.loadRecordsSync(args[0] as number[]);
    case 'changesSince':
      return reader.changesSinceSync(
        args[0] as Parameters<SqliteTreatmentReader['changesSinceSync']>[0],
        args[1] as Parameters<SqliteTreatmentReader['changesSinceSync']>[1],
      );
    case 'currentWatermark':
      return reader.currentWatermarkSync();
    case 'maxKeys':
      return reader.maxKeys();
    case 'tablePresence':
      return reader.tablePresence();
    case 'unrestoredRuns':
      return reader.unrestoredRuns();
    case 'close':
      return reader.closeSync();
  }
}

function send(port: MessagePort, message: ReaderThreadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/**
 * The buffers behind a batch's leaf sets (one per batch: the rows view one BLOB), moved rather
 * than copied. Only buffers larger than Node's 8 KiB Buffer pool: a pool slab is shared with
 * unrelated small Buffers and must stay here.
 */
function leafBuffers(value: unknown, method: ReaderThreadMethod): ArrayBuffer[] {
  if (method !== 'loadRecords') return [];
  const buffers = new Set<ArrayBuffer>();
  const seen = new Set<unknown>();
  for (const record of (value as LoadedRecords).records) {
    if (seen.has(record.controlPoints)) continue;
    seen.add(record.controlPoints);
    for (const point of record.controlPoints) {
      for (const leaves of [point.A_Leaf_Set, point.B_Leaf_Set]) {
        if (
          leaves instanceof Uint8Array &&
          leaves.buffer instanceof ArrayBuffer &&
          leaves.buffer.byteLength > 8192
        ) {
          buffers.add(leaves.buffer);
        }
      }
    }
  }
  return [...buffers];
}

function serve(port: MessagePort, init: ReaderThreadInit): void {
  let reader: SqliteTreatmentReader;
  try {
    reader = openTreatmentReader(init.path, {
      ...init.options,
      ...(init.forwardQueries ? { onQuery: (sql: string) => send(port, { kind: 'query', sql }) } : {}),
    });
  } catch (error) {
    send(port, { kind: 'open-failed', error: serializeError(error) });
    port.close();
    return;
  }
  port.on('message', (request: ReaderThreadRequest) => {
    try {
      const value = answer(reader, request);
      // A value structured clone refuses throws here, and is answered as that error.
      send(port, { kind: 'result', id: request.id, ok: true, value }, leafBuffers(value, request.method));
    } catch (error) {
      send(port, { kind: 'result', id: request.id, ok: false, error: serializeError(error) });
    }
    // Closing the port lets the thread's event loop end, so the thread exits by itself.
    if (request.method === 'close') port.close();
  });
  send(port, { kind: 'ready' });
}

if (parentPort) serve(parentPort, workerData as ReaderThreadInit);
