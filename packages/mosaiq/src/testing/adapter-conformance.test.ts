import { createHash } from 'node:crypto';
import { ValidationError } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import {
  type ChangeOptionsInput,
  decodeTreatmentCursor,
  decodeWatermark,
  encodeTreatmentCursor,
  encodeWatermark,
  type LedgerEntry,
  NotASandboxError,
  parseChangeOptions,
  parseTreatmentQuery,
  type RunMeta,
  RunMetaSchema,
  type SandboxRun,
  type SandboxWriter,
  type TreatmentQueryInput,
  type TreatmentReader,
} from '../adapters';
import { applyChanges, type Change, changeToJson, invertChanges, validateChange } from '../changes';
import { assembleRecords } from '../record';
import { MOSAIQ_TABLES, TABLE_NAMES, type TableRows, type TrackTreatmentRow } from '../tables';
import { adapterConformance } from './adapter-conformance';
import type { AdapterDatabase, AdapterHarness } from './harness';

/**
 * The kit checked against an in-memory adapter (the contract with nothing else in the way), then
 * against broken variants of it, each of which one check must catch: a kit that cannot fail
 * proves nothing.
 */
type Flaw =
  | 'none'
  | 'loadSorted'
  | 'cursorDropsLast'
  | 'partialRun'
  | 'ignoresMarker'
  | 'restoreForgets'
  | 'pageSkipsOne';

function memoryHarness(flaw: Flaw): AdapterHarness {
  return {
    async createDatabase(initial, { sandbox }): Promise<AdapterDatabase> {
      let rows: TableRows = initial;
      let counter = 0n;
      const versions = new Map<number, bigint>();
      for (const t of rows.TrackTreatment) versions.set(t.TTX_ID, ++counter);
      const runs: SandboxRun[] = [];
      const ledgers = new Map<string, Change[]>();
      const statements: string[] = [];
      let failing = false;
      const touch = (changes: readonly Change[]) => {
        for (const c of changes) {
          if (c.table !== 'TrackTreatment') continue;
          if (c.kind === 'delete') versions.delete(c.key);
          else versions.set(c.key, ++counter);
        }
      };
      const summary = (t: TrackTreatmentRow) => ({
        TTX_ID: t.TTX_ID,
        Pat_ID1: t.Pat_ID1,
        FLD_ID: t.FLD_ID,
        SIT_ID: t.SIT_ID,
        Machine_ID_Staff_ID: t.Machine_ID_Staff_ID,
        Create_DtTm: t.Create_DtTm,
        Edit_DtTm: t.Edit_DtTm,
        WasQAMode: t.WasQAMode,
        WasBeamComplete: t.WasBeamComplete,
      });
      const reader: TreatmentReader = {
        async listTreatments(input: TreatmentQueryInput) {
          statements.push('SELECT page');
          const q = parseTreatmentQuery(input);
          const c = q.cursor === null ? null : decodeTreatmentCursor(q.cursor);
          const all = rows.TrackTreatment.filter(
            (t) =>
              t.Create_DtTm! >= q.from &&
              t.Create_DtTm! < q.to &&
              (!c ||
                t.Create_DtTm!.getTime() > c.createdAt.getTime() ||
                (t.Create_DtTm!.getTime() === c.createdAt.getTime() && t.TTX_ID > c.ttxId)) &&
              (!q.machineIds || q.machineIds.includes(t.Machine_ID_Staff_ID!)) &&
              (!q.patientIds || q.patientIds.includes(t.Pat_ID1!)) &&
              (!q.fieldIds || q.fieldIds.includes(t.FLD_ID!)) &&
              (!q.completedOnly || t.WasBeamComplete === true) &&
              (q.qaMode !== 'exclude' || t.WasQAMode !== true) &&
              (q.qaMode !== 'only' || t.WasQAMode === true),
          ).sort((a, b) => a.Create_DtTm!.getTime() - b.Create_DtTm!.getTime() || a.TTX_ID - b.TTX_ID);
          const items = all.slice(0, q.pageSize).map(summary);
          const last = items.at(-1);
          const more = all.length > q.pageSize;
          // The flawed variant starts the next page after the row that did not fit: one row lost.
          const edge = flaw === 'pageSkipsOne' ? all[q.pageSize] : last;
          const next =
            more && edge ? encodeTreatmentCursor({ createdAt: edge.Create_DtTm!, ttxId: edge.TTX_ID }) : null;
          return { items, nextCursor: next };
        },
        async loadRecords(ids) {
          ids.forEach((id, i) => {
            if (!Number.isInteger(id)) throw new ValidationError(`ids[${i}]`, 'a TTX_ID integer', id);
          });
          statements.push('SELECT records');
          const records = assembleRecords(rows);
          const byId = new Map(records.map((r) => [r.treatment.TTX_ID, r]));
          const asked = flaw === 'loadSorted' ? [...ids].sort((a, b) => a - b) : ids;
          return {
            records: asked.filter((id) => byId.has(id)).map((id) => byId.get(id)!),
            missingIds: ids.filter((id) => !byId.has(id)),
          };
        },
        async changesSince(watermark, options?: ChangeOptionsInput) {
          const since = watermark === null ? 0n : decodeWatermark(watermark);
          const { limit } = parseChangeOptions(options);
          const changed = rows.TrackTreatment.filter((t) => versions.get(t.TTX_ID)! > since).sort((a, b) =>
            versions.get(a.TTX_ID)! < versions.get(b.TTX_ID)! ? -1 : 1,
          );
          let items = changed
            .slice(0, limit)
            .map((t) => ({ ...summary(t), version: encodeWatermark(versions.get(t.TTX_ID)!) }));
          const hasMore = changed.length > limit;
          if (flaw === 'cursorDropsLast' && hasMore) items = items.slice(0, -1);
          const end = hasMore
            ? decodeWatermark(
                changed[limit - 1]
                  ? encodeWatermark(versions.get(changed[limit - 1]!.TTX_ID)!)
                  : encodeWatermark(since),
              )
            : counter > since
              ? counter
              : since;
          return { since: watermark, items, watermark: encodeWatermark(end), hasMore };
        },
        async currentWatermark() {
          return encodeWatermark(counter);
        },
        async close() {},
      };
      const writer = (): SandboxWriter => ({
        async apply(changes: readonly Change[], meta: RunMeta) {
          const r = RunMetaSchema.safeParse(meta);
          if (!r.success)
            throw new ValidationError(`meta.${String(r.error.issues[0]!.path[0])}`, 'a valid run meta');
          if (changes.length === 0) throw new ValidationError('changes', 'a non-empty array of changes');
          changes.forEach((c, i) => {
            validateChange(c, `changes[${i}]`);
          });
          if (failing) throw new Error('injected failure');
          try {
            rows = applyChanges(rows, changes);
          } catch (error) {
            if (flaw === 'partialRun') rows = applyChanges(rows, changes.slice(0, 1));
            throw error;
          }
          touch(changes);
          const run: SandboxRun = {
            runId: `run-${runs.length + 1}`,
            meta: r.data,
            appliedAt: new Date(),
            restoredAt: null,
            status: 'applied',
            changeCount: changes.length,
          };
          runs.push(run);
          ledgers.set(run.runId, [...changes]);
          return run;
        },
        async restore(runId: string) {
          const run = runs.find((r) => r.runId === runId);
          if (run?.status !== 'applied')
            throw new ValidationError('runId', 'an applied run of this sandbox', runId);
          let undo = invertChanges(ledgers.get(runId)!);
          if (flaw === 'restoreForgets') undo = undo.slice(1);
          rows = applyChanges(rows, undo);
          touch(undo);
          run.status = 'restored';
          run.restoredAt = new Date();
          return { ...run };
        },
        async listRuns() {
          return runs.map((r) => ({ ...r }));
        },
        async ledger(runId: string): Promise<LedgerEntry[]> {
          return (ledgers.get(runId) ?? []).map((change, seq) => ({ runId, seq, change }));
        },
        async close() {},
      });
      return {
        name: 'memory',
        openReader: async () => reader,
        openWriter: async () => {
          if (!sandbox && flaw !== 'ignoresMarker') throw new NotASandboxError('memory');
          return writer();
        },
        checksum: async () => {
          const h = createHash('sha256');
          for (const t of TABLE_NAMES) {
            const pk = MOSAIQ_TABLES[t].primaryKey;
            const list = [...(rows[t] as unknown as Record<string, unknown>[])].sort(
              (a, b) => (a[pk] as number) - (b[pk] as number),
            );
            for (const row of list)
              h.update(
                JSON.stringify(
                  changeToJson({ kind: 'insert', table: t, key: row[pk] as number, row: row as never }),
                ),
              );
          }
          return h.digest('hex');
        },
        statements: () => statements,
        failWhenWriting: async () => {
          failing = true;
          return async () => {
            failing = false;
          };
        },
        dispose: async () => {},
      };
    },
    asStored: (rows) => rows,
    maxStatementsPerLoad: () => 1,
  };
}

const run = (flaw: Flaw, name: RegExp) => {
  const kit = adapterConformance({ harness: memoryHarness(flaw), records: 150 });
  const check = kit.checks.find((c) => name.test(c.name));
  if (!check) throw new Error(`no check matches ${name}`);
  return check.run();
};

describe('the adapter conformance kit', () => {
  const kit = adapterConformance({ harness: memoryHarness('none'), records: 150 });
  for (const check of kit.checks) it(`passes on a correct in-memory adapter: ${check.name}`, check.run);

  it('catches an adapter that breaks the contract, one check per flaw', async () => {
    await expect(run('loadSorted', /^loadRecords gives the records/)).rejects.toThrow();
    await expect(run('pageSkipsOne', /^listTreatments pages a window/)).rejects.toThrow(
      /pages of 37 rows|listed treatments differ/,
    );
    await expect(run('cursorDropsLast', /^changesSince pages through every/)).rejects.toThrow();
    await expect(run('partialRun', /^a conflicting or invalid change/)).rejects.toThrow();
    await expect(run('ignoresMarker', /^a writer refuses a database/)).rejects.toThrow(
      /expected an error, none was thrown/,
    );
    await expect(run('restoreForgets', /^apply writes every kind of change/)).rejects.toThrow();
  });
});
