import { openTreatmentReader, tableChecksum } from '@anomalia/db-sqlite';
import { ACCIDENTAL_FAILURE_MODES, failureCatalogue } from '@anomalia/failure-modes';
import { extractQaExtended, type FeatureMatrix } from '@anomalia/features';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callOk, connect, makeDatabases, type TestDatabases, textOf } from './testing/fixtures';

let dbs: TestDatabases;
let client: Client;
let close: () => Promise<void>;
let baseline: string;

beforeAll(async () => {
  dbs = makeDatabases(300);
  baseline = tableChecksum(dbs.sandbox);
  ({ client, close } = await connect({ config: { database: { type: 'sqlite', path: dbs.sandbox } } }));
});

afterAll(async () => {
  await close();
  dbs.cleanup();
});

const MODE_IDS = failureCatalogue.modes.map((m) => m.id);

/** The QA features (74 + cohort) of the given treatments as stored in the sandbox now. */
async function featuresOf(ids: number[], asOf: Date): Promise<FeatureMatrix> {
  const reader = openTreatmentReader(dbs.sandbox);
  try {
    const { records } = await reader.loadRecords(ids);
    return extractQaExtended(records, { asOf });
  } finally {
    await reader.close();
  }
}

/** Every treatment id of the untouched sandbox and one day after its latest treatment. */
async function baselineIds(): Promise<{ ids: number[]; asOf: Date }> {
  const reader = openTreatmentReader(dbs.sandbox);
  try {
    const page = await reader.listTreatments({
      from: new Date(0),
      to: new Date(Date.UTC(9999, 0, 1)),
      pageSize: 10_000,
    });
    const latest = Math.max(...page.items.map((t) => t.Create_DtTm!.getTime()));
    return { ids: page.items.map((t) => t.TTX_ID), asOf: new Date(latest + 86_400_000) };
  } finally {
    await reader.close();
  }
}

function featureValue(fm: FeatureMatrix, ttxId: number, feature: string): number {
  const row = fm.recordIds.indexOf(ttxId);
  const col = fm.featureNames.indexOf(feature);
  expect(row, `TTX_ID ${ttxId} was read back`).toBeGreaterThanOrEqual(0);
  expect(col, `${feature} is a QA feature`).toBeGreaterThanOrEqual(0);
  return fm.X.get(row, col);
}

describe('tools and resources', () => {
  it('offers one destructive tool per failure mode plus the five others', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(
      [
        ...MODE_IDS,
        'list_failure_modes',
        'describe_failure_mode',
        'preview',
        'list_runs',
        'restore_run',
      ].sort(),
    );
    for (const mode of failureCatalogue.modes) {
      const tool = tools.find((t) => t.name === mode.id)!;
      expect(tool.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
      const props = tool.inputSchema.properties as Record<
        string,
        { enum?: string[]; anyOf?: { title: string }[] }
      >;
      expect(props.variant!.enum).toEqual(mode.variants.map((v) => v.id));
      // The parameter schema of every variant, from the mode's zod schema.
      expect(props.params!.anyOf!.map((s) => s.title)).toEqual(mode.variants.map((v) => v.id));
    }
    for (const name of ['list_failure_modes', 'describe_failure_mode', 'preview', 'list_runs']) {
      expect(tools.find((t) => t.name === name)!.annotations?.readOnlyHint).toBe(true);
    }
  });

  it('lists and describes the failure modes with severities, parameters and QA checks', async () => {
    const list = await callOk(client, 'list_failure_modes');
    const modes = list.modes as { mode: string; variants: { variant: string; severity: number }[] }[];
    expect(modes.map((m) => m.mode)).toEqual(MODE_IDS);
    expect(modes.find((m) => m.mode === 'orphaned_records')!.variants).toContainEqual({
      variant: 'patient_id',
      severity: 2.8,
      band: 'critical',
    });

    const d = await callOk(client, 'describe_failure_mode', { mode: 'meterset_inconsistency' });
    expect(d.severity).toBe(2.3);
    const variants = d.variants as { variant: string; parameters: { properties: Record<string, unknown> } }[];
    const extreme = variants.find((v) => v.variant === 'extreme_value')!;
    expect(extreme.parameters.properties.value).toMatchObject({ default: 9999, exclusiveMinimum: 1000 });
    const checks = d.qaChecks as { feature: string; reads: string; reactsTo: string[] }[];
    const muNegative = checks.find((c) => c.feature === 'mu_negative')!;
    expect(muNegative.reactsTo).toContain('negative_meterset');
    expect(muNegative.reads).toMatch(/TxField\.Meterset/);
  });

  it('serves failure-mode://mosaiq/{mode} with the description, the checks and the data they read', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(MODE_IDS.map((id) => `failure-mode://mosaiq/${id}`));
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['failure-mode://mosaiq/{mode}']);

    const read = await client.readResource({ uri: 'failure-mode://mosaiq/invalid_offset_data' });
    const text = (read.contents[0] as { text: string }).text;
    expect(text).toContain('# invalid_offset_data');
    expect(text).toContain(failureCatalogue.mode('invalid_offset_data').description);
    expect(text).toMatch(
      /\| `superior_extreme` \(flag\) \| \|Superior_Offset\| > 10 cm \| the latest valid Offset/,
    );
    expect(text).toContain('"valueCm"');

    await expect(client.readResource({ uri: 'failure-mode://mosaiq/not_a_mode' })).rejects.toThrow(
      /not_a_mode/,
    );
  });
});

describe('every accidental failure-mode tool on the sandbox', () => {
  // The malicious modes need courses of several fractions: malicious.test.ts, on a longer clinic.
  for (const mode of ACCIDENTAL_FAILURE_MODES) {
    for (const variant of mode.variants) {
      it(`${mode.id}/${variant.id}: applies, its QA features react, and restore_run restores the checksum`, async () => {
        expect(tableChecksum(dbs.sandbox)).toBe(baseline);
        const { ids, asOf } = await baselineIds();
        const applied = await callOk(client, mode.id, { variant: variant.id, seed: 3 });
        expect(applied.runId).toMatch(/^run-\d+$/);
        expect(applied.changeCount).toBeGreaterThan(0);
        expect(applied.targets as number[]).toHaveLength(1);
        expect(applied.affectedTtxIds as number[]).toContain(
          (applied.applications as { primaryTtxId: number }[])[0]!.primaryTtxId,
        );
        expect(tableChecksum(dbs.sandbox)).not.toBe(baseline);
        // Read back from SQLite: the features the variant names differ from the restored record's
        // (an inserted duplicate is compared with the record it copies).
        const primary = (applied.applications as { primaryTtxId: number }[])[0]!.primaryTtxId;
        const target = (applied.targets as number[])[0]!;
        const corrupted = await featuresOf([...ids.filter((id) => id !== primary), primary], asOf);

        const { runs } = await callOk(client, 'list_runs', { status: 'applied' });
        expect(runs).toEqual([
          expect.objectContaining({
            runId: applied.runId,
            mode: mode.id,
            variant: variant.id,
            seed: 3,
            changeCount: applied.changeCount,
            status: 'applied',
          }),
        ]);

        const restored = await callOk(client, 'restore_run', { run_id: applied.runId });
        expect(restored.status).toBe('restored');
        expect(tableChecksum(dbs.sandbox)).toBe(baseline);
        const original = await featuresOf(ids, asOf);
        const reference = ids.includes(primary) ? primary : target;
        for (const feature of [...variant.features, ...variant.cohortFeatures]) {
          expect(featureValue(corrupted, primary, feature), `${feature} reacts`).not.toBe(
            featureValue(original, reference, feature),
          );
        }
      });
    }
  }
});

describe('targets, preview and composition', () => {
  it('preview returns exactly the changes the tool then writes, and writes nothing', async () => {
    const args = { variant: 'random_bytes', count: 2, seed: 9 };
    const runsBefore = ((await callOk(client, 'list_runs')).runs as unknown[]).length;
    const preview = await callOk(client, 'preview', { mode: 'corrupt_mlc_data', ...args });
    expect(preview.dryRun).toBe(true);
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
    expect(((await callOk(client, 'list_runs')).runs as unknown[]).length).toBe(runsBefore);

    const applied = await callOk(client, 'corrupt_mlc_data', args);
    expect(applied.changes).toEqual(preview.changes);
    expect(applied.affectedTtxIds).toEqual(preview.affectedTtxIds);
    // Blobs are summarized: length and where they differ, never the raw 200 bytes.
    const change = (applied.changes as { old: string; new: string }[])[0]!;
    expect(change.old).toMatch(/^200 bytes; @\d+–\d+: 0x[0-9a-f]+…?$/);
    expect(change.new).toMatch(/^200 bytes; @\d+–\d+: 0x[0-9a-f]+…?$/);
    expect(change.new).not.toBe(change.old);
    await callOk(client, 'restore_run', { run_id: applied.runId });
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  });

  it('applies several targets of one patient in turn, so their changes compose in one run', async () => {
    const reader = openTreatmentReader(dbs.sandbox);
    const page = await reader.listTreatments({
      from: new Date('2000-01-01Z'),
      to: new Date('2100-01-01Z'),
      pageSize: 10_000,
    });
    await reader.close();
    // Two fractions of one patient on different fields, and one of another patient.
    const first = page.items[0]!;
    const sibling = page.items.find((t) => t.Pat_ID1 === first.Pat_ID1 && t.FLD_ID !== first.FLD_ID)!;
    const other = page.items.find((t) => t.Pat_ID1 !== first.Pat_ID1)!;
    const ids = [first.TTX_ID, sibling.TTX_ID, other.TTX_ID];

    const applied = await callOk(client, 'timestamp_inconsistencies', {
      variant: 'edit_before_create',
      ttx_ids: ids,
      params: { hoursBefore: 3 },
    });
    expect(applied.targets).toEqual(ids);
    expect(applied.params).toEqual({ hoursBefore: 3 });
    const changes = applied.changes as { key: number; column: string; old: string; new: string }[];
    expect(changes.map((c) => c.key)).toEqual(ids);
    for (const c of changes) {
      expect(c.column).toBe('Edit_DtTm');
    }
    await callOk(client, 'restore_run', { run_id: applied.runId });
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  });

  it('draws count eligible records with the seed: same seed, same records', async () => {
    const a = await callOk(client, 'preview', {
      mode: 'duplicate_treatments',
      variant: 'same_field',
      count: 3,
      seed: 5,
    });
    const b = await callOk(client, 'preview', {
      mode: 'duplicate_treatments',
      variant: 'same_field',
      count: 3,
      seed: 5,
    });
    const c = await callOk(client, 'preview', {
      mode: 'duplicate_treatments',
      variant: 'same_field',
      count: 3,
      seed: 6,
    });
    expect(a.targets).toEqual(b.targets);
    expect(a.targets).not.toEqual(c.targets);
    expect(a.targets as number[]).toHaveLength(3);
    // Inserted duplicates get keys above every existing TTX_ID, distinct within the run.
    const inserted = (a.changes as { kind: string; key: number }[]).filter((x) => x.kind === 'insert');
    expect(new Set(inserted.map((x) => x.key)).size).toBe(3);
    const reader = openTreatmentReader(dbs.sandbox);
    const max = reader.maxKeys().TrackTreatment!;
    await reader.close();
    for (const x of inserted) expect(x.key).toBeGreaterThan(max);
  });
});

describe('limits', () => {
  it('examines at most maxCandidates records and reports a shortfall instead of looping', async () => {
    const limited = await connect({
      config: { database: { type: 'sqlite', path: dbs.sandbox }, maxCandidates: 2, maxTargets: 5 },
    });
    try {
      const r = await callOk(limited.client, 'preview', {
        mode: 'invalid_angles',
        variant: 'gantry',
        count: 5,
      });
      expect(r.requested).toBe(5);
      expect((r.targets as number[]).length).toBeGreaterThanOrEqual(1);
      expect((r.targets as number[]).length + (r.candidatesSkipped as number)).toBeLessThanOrEqual(2);
      const tooMany = await call(limited.client, 'invalid_angles', { variant: 'gantry', count: 6 });
      expect(tooMany.isError).toBe(true);
      expect(textOf(tooMany)).toBe('ValidationError: count: expected a number ≤ 5, received 6');
    } finally {
      await limited.close();
    }
  });
});

describe('bad arguments are tool errors naming the field', () => {
  const expectToolError = async (name: string, args: Record<string, unknown>, pattern: RegExp) => {
    const result = await call(client, name, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(pattern);
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  };

  it('an unknown variant', async () => {
    await expectToolError(
      'invalid_angles',
      { variant: 'roll' },
      /^ValidationError: variant: expected one of "gantry", "collimator", "both", received "roll"$/,
    );
    await expectToolError(
      'preview',
      { mode: 'invalid_angles', variant: 'roll' },
      /^ValidationError: variant: expected one of "gantry", "collimator", "both" \(the variants of invalid_angles\), received "roll"$/,
    );
  });

  it('an out-of-range or unknown parameter', async () => {
    await expectToolError(
      'meterset_inconsistency',
      { variant: 'extreme_value', params: { value: 5 } },
      /params\.value: expected .*1000.*received 5/,
    );
    await expectToolError(
      'invalid_offset_data',
      { variant: 'extreme_values', params: { axes: ['up'] } },
      /params\.axes\[0\]/,
    );
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', params: { angle: 500 } },
      /params\.angle: expected one of the parameters invalidValue, points/,
    );
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', count: 0 },
      /^ValidationError: count: expected a number ≥ 1, received 0$/,
    );
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', count: 101 },
      /^ValidationError: count: expected a number ≤ 100, received 101$/,
    );
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', ttx_ids: [1], count: 1 },
      /count: expected either ttx_ids or count/,
    );
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', ttxIds: [1] },
      /^ValidationError: ttxIds: expected no such key \(unknown keys are refused, not ignored\)$/,
    );
  });

  it('a target that does not exist or does not suit the variant', async () => {
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', ttx_ids: [42] },
      /ttx_ids\[0\]: expected the TTX_ID of a TrackTreatment row/,
    );
    const reader = openTreatmentReader(dbs.sandbox);
    const page = await reader.listTreatments({
      from: new Date('2000-01-01Z'),
      to: new Date('2100-01-01Z'),
      pageSize: 10_000,
    });
    const { records } = await reader.loadRecords(page.items.map((t) => t.TTX_ID));
    await reader.close();
    const id = page.items[0]!.TTX_ID;
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', ttx_ids: [id, id] },
      /ttx_ids\[1\]: expected distinct TTX_IDs/,
    );
    // 200° is inside [0, 360]: not an invalid angle.
    await expectToolError(
      'invalid_angles',
      { variant: 'gantry', ttx_ids: [id], params: { invalidValue: 200 } },
      /params\.invalidValue/,
    );
    // A field with a single control point has no interior point to delete.
    const single = records.find((r) => r.controlPoints.length === 1)!;
    await expectToolError(
      'missing_control_points',
      { variant: 'single_gap', ttx_ids: [single.treatment.TTX_ID] },
      /ttx_ids\[0\]: expected a record missing_control_points\/single_gap suits: .*received \d+/,
    );
  });

  it('an unknown or already restored run id', async () => {
    await expectToolError(
      'restore_run',
      { run_id: 'run-999' },
      /run_id: expected the id of a run of this sandbox, received "run-999"/,
    );
    const applied = await callOk(client, 'null_required_fields', { variant: 'pat_id', seed: 1 });
    await callOk(client, 'restore_run', { run_id: applied.runId });
    await expectToolError(
      'restore_run',
      { run_id: applied.runId },
      /run_id: expected a run that is still applied/,
    );
  });
});

describe('a target that is not a sandbox', () => {
  it('is refused on every database tool, as a tool error, and left untouched', async () => {
    const clinic = dbs.clinic();
    const before = tableChecksum(clinic);
    const other = await connect({ config: { database: { type: 'sqlite', path: clinic } } });
    try {
      for (const [name, args] of [
        ['invalid_angles', { variant: 'gantry' }],
        ['preview', { mode: 'invalid_angles', variant: 'gantry' }],
        ['list_runs', {}],
        ['restore_run', { run_id: 'run-1' }],
      ] as const) {
        const result = await call(other.client, name, args);
        expect(result.isError).toBe(true);
        expect(textOf(result)).toMatch(
          /NotASandboxError: .*clinic\.sqlite: not a sandbox .*refusing to write/,
        );
      }
      // The catalogue needs no database.
      expect((await call(other.client, 'list_failure_modes')).isError).toBeFalsy();
    } finally {
      await other.close();
    }
    expect(tableChecksum(clinic)).toBe(before);
  });

  it('a missing database file is a tool error naming the path', async () => {
    const other = await connect({ config: { database: { type: 'sqlite', path: `${dbs.dir}/nope.sqlite` } } });
    try {
      const result = await call(other.client, 'list_runs');
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(
        /path: expected an existing SQLite database file, received ".*nope\.sqlite"/,
      );
    } finally {
      await other.close();
    }
  });
});
