import { openTreatmentReader, tableChecksum } from '@anomalia/db-sqlite';
import { MALICIOUS_FAILURE_MODES } from '@anomalia/failure-modes';
import { extractQaExtended, type FeatureMatrix } from '@anomalia/features';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { listAllTreatments, loadRecordsInBatches } from '@anomalia/qa-workflow';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callOk, connect, makeDatabases, type TestDatabases, textOf } from './testing/fixtures';

/**
 * Every malicious variant through its tool on a SQLite sandbox holding five weeks of a clinic
 * (few new courses a day, so courses have up to ~25 fractions): preview, apply, read every record
 * back from SQLite, check exactly the reported records changed and the variant's features react,
 * restore to the same checksum.
 */

let dbs: TestDatabases;
let client: Client;
let close: () => Promise<void>;
let baseline: string;
let before: Map<number, string>;
let beforeFeatures: FeatureMatrix;
let asOf: Date;

const json = (v: unknown) =>
  JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));
const pointsText = new WeakMap<object, string>();
/** Every value a record is assembled from, as text. */
function fingerprint(r: TreatmentRecord): string {
  let cps = pointsText.get(r.controlPoints);
  if (cps === undefined) {
    cps = json(r.controlPoints);
    pointsText.set(r.controlPoints, cps);
  }
  return (
    json([r.treatment, r.field, r.site, r.patient, r.ident, r.doseHistory, r.offset, r.sessionOffsets]) + cps
  );
}

/** Every treatment of the sandbox as it is stored now. */
async function readAll(): Promise<TreatmentRecord[]> {
  const reader = openTreatmentReader(dbs.sandbox);
  try {
    const ids = (await listAllTreatments(reader)).map((t) => t.TTX_ID);
    return await loadRecordsInBatches(reader, ids);
  } finally {
    await reader.close();
  }
}

beforeAll(async () => {
  dbs = makeDatabases(5000, 11, { newCoursesPerDay: 0.7 });
  baseline = tableChecksum(dbs.sandbox);
  const records = await readAll();
  before = new Map(records.map((r) => [r.treatment.TTX_ID, fingerprint(r)]));
  asOf = new Date(Math.max(...records.map((r) => r.treatment.Create_DtTm!.getTime())) + 86_400_000);
  beforeFeatures = extractQaExtended(records, { asOf });
  ({ client, close } = await connect({ config: { database: { type: 'sqlite', path: dbs.sandbox } } }));
}, 120_000);

afterAll(async () => {
  await close();
  dbs.cleanup();
});

const value = (fm: FeatureMatrix, id: number, feature: string) => {
  const row = fm.recordIds.indexOf(id);
  expect(row, `TTX_ID ${id} was read back`).toBeGreaterThanOrEqual(0);
  return fm.X.get(row, fm.featureNames.indexOf(feature));
};

describe('every malicious tool on a sandbox with courses', () => {
  for (const mode of MALICIOUS_FAILURE_MODES) {
    for (const variant of mode.variants) {
      it(`${mode.id}/${variant.id}: preview = apply, exactly the reported records change in SQLite, restore_run restores the checksum`, async () => {
        expect(tableChecksum(dbs.sandbox)).toBe(baseline);
        const args = { variant: variant.id, seed: 3 };
        const preview = await callOk(client, 'preview', { mode: mode.id, ...args });
        expect(preview.dryRun).toBe(true);
        expect(tableChecksum(dbs.sandbox)).toBe(baseline);

        const applied = await callOk(client, mode.id, args);
        expect(applied.changes).toEqual(preview.changes);
        expect(applied.changeCount).toBe(preview.changeCount);
        expect(applied).toMatchObject({
          mode: mode.id,
          variant: variant.id,
          severity: variant.severity,
          band: 'critical',
        });
        expect(tableChecksum(dbs.sandbox)).not.toBe(baseline);

        // Read back from SQLite: exactly the reported records changed (log_deletion's rows are gone).
        const after = await readAll();
        const afterIds = new Set(after.map((r) => r.treatment.TTX_ID));
        const changed = after
          .filter((r) => before.get(r.treatment.TTX_ID) !== fingerprint(r))
          .map((r) => r.treatment.TTX_ID)
          .sort((a, b) => a - b);
        expect(changed).toEqual(applied.affectedTtxIds);
        const deleted = [...before.keys()].filter((id) => !afterIds.has(id));
        if (variant.writes.includes('TrackTreatment')) expect(deleted.length).toBeGreaterThan(0);
        else expect(deleted).toEqual([]);
        expect(after.length).toBe(before.size - deleted.length);

        const primary = (applied.applications as { primaryTtxId: number }[])[0]!.primaryTtxId;
        const afterFeatures = extractQaExtended(after, { asOf });
        for (const feature of [...variant.features, ...variant.cohortFeatures]) {
          expect(value(afterFeatures, primary, feature), `${feature} reacts`).not.toBe(
            value(beforeFeatures, primary, feature),
          );
        }

        const { runs } = await callOk(client, 'list_runs', { status: 'applied' });
        expect(runs).toEqual([
          expect.objectContaining({ runId: applied.runId, mode: mode.id, variant: variant.id }),
        ]);
        const restored = await callOk(client, 'restore_run', { run_id: applied.runId });
        expect(restored.status).toBe('restored');
        expect(tableChecksum(dbs.sandbox)).toBe(baseline);
      }, 120_000);
    }
  }
});

describe('malicious tools: targets, parameters, descriptions', () => {
  it('a cohort-scope attack picks victims among every patient of the database', async () => {
    const r = await callOk(client, 'preview', {
      mode: 'targeted_patient_selection',
      variant: 'random_sampling',
      params: { patients: 4 },
      seed: 1,
    });
    const reader = openTreatmentReader(dbs.sandbox);
    const { records } = await reader.loadRecords(r.affectedTtxIds as number[]);
    await reader.close();
    expect(new Set(records.map((x) => x.treatment.Pat_ID1)).size).toBe(4);
  });

  it('a course too short, a bad parameter, an explicit target: tool errors naming the field', async () => {
    const reader = openTreatmentReader(dbs.sandbox);
    const qa = (await listAllTreatments(reader)).find((t) => t.WasQAMode === true)!;
    await reader.close();
    const notSuited = await call(client, 'gradual_parameter_drift', {
      variant: 'mu_creep',
      ttx_ids: [qa.TTX_ID],
    });
    expect(notSuited.isError).toBe(true);
    expect(textOf(notSuited)).toMatch(
      /ttx_ids\[0\]: expected a record gradual_parameter_drift\/mu_creep suits: the treatment is a QA-mode delivery/,
    );
    const bad = await call(client, 'statistical_camouflage', {
      variant: 'within_tolerance_bias',
      params: { biasPercent: 7 },
    });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/params\.biasPercent/);
    const unknown = await call(client, 'collimator_jaw_manipulation', {
      variant: 'gradient_shift',
      params: { jaws: 'Y2' },
    });
    expect(textOf(unknown)).toMatch(
      /params\.jaws: expected one of the parameters mm, jaw, startFraction, minFractions/,
    );
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  });

  it('tool schemas come from the zod parameters; describe and the resource state the evidence', async () => {
    const { tools } = await client.listTools();
    const tool = tools.find((t) => t.name === 'selective_fraction_sabotage')!;
    expect(tool.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(tool.description).toMatch(/names the course it attacks/);
    const params = (
      tool.inputSchema.properties as Record<
        string,
        { anyOf: { title: string; properties: Record<string, { default?: unknown }> }[] }
      >
    ).params!;
    const periodic = params.anyOf.find((s) => s.title === 'periodic_attacks')!;
    expect(periodic.properties.period!.default).toBe(5);
    expect(periodic.properties.percent!.default).toBe(15);

    const d = await callOk(client, 'describe_failure_mode', { mode: 'gradual_parameter_drift' });
    const creep = (d.variants as { variant: string; evidence: string }[]).find(
      (v) => v.variant === 'mu_creep',
    )!;
    expect(creep.evidence).toMatch(/Mann–Kendall/);
    const read = await client.readResource({ uri: 'failure-mode://mosaiq/statistical_camouflage' });
    expect((read.contents[0] as { text: string }).text).toMatch(
      /Evidence that reveals it: No single fraction exceeds/,
    );
  });
});
