/**
 * The thread behind `openThreadedTreatmentReader`: one SqliteTreatmentReader, answering the
 * caller's requests in the order they arrive, one at a time (better-sqlite3 is synchronous, so
 * each message is handled to the end before the next).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { LoadedRecords } from '@anomalia/mosaiq';
import { openTreatmentReader, type ReaderOptions, type SqliteTreatmentReader } from './reader';
import { type SerializedError, serializeError } from './thread-errors';
import { type PointsNote, SentPoints } from './thread-points';

/** What the thread is started with. */
export interface ReaderThreadInit {
  path: string;
  options: Omit<ReaderOptions, 'onQuery'>;
  /** Send each statement's SQL back, for the caller's `onQuery` (a function cannot cross threads). */
  forwardQueries: boolean;
  /** Control points the caller holds at most, to be named instead of sent again (0: always sent). */
  heldPoints: number;
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
  | { kind: 'result'; id: number; ok: true; value: unknown; points?: PointsNote }
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

function send(port: MessagePort, message: ReaderThreadMessage): void {
  port.postMessage(message);
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
  const held = init.heldPoints > 0 ? new SentPoints(init.heldPoints) : null;
  port.on('message', (request: ReaderThreadRequest) => {
    try {
      const value = answer(reader, request);
      if (held && request.method === 'loadRecords') {
        const { note, commit } = held.prepare(value as LoadedRecords);
        // A value structured clone refuses throws here (nothing is then held), answered as that error.
        send(port, { kind: 'result', id: request.id, ok: true, value, points: note });
        commit();
      } else send(port, { kind: 'result', id: request.id, ok: true, value });
    } catch (error) {
      send(port, { kind: 'result', id: request.id, ok: false, error: serializeError(error) });
    }
    // Closing the port lets the thread's event loop end, so the thread exits by itself.
    if (request.method === 'close') port.close();
  });
  send(port, { kind: 'ready' });
}

if (parentPort) serve(parentPort, workerData as ReaderThreadInit);
