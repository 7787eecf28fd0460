import { UnknownVariantError } from '@anomalia/severity';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ACCIDENTAL_FAILURE_MODES, createFailureCatalogue } from './catalogue';
import { compact, updateCell } from './change-builders';
import { defineFailureMode, defineVariant, type FailureMode, type FailureScope } from './failure-mode';
import { planCorruption } from './plan';
import { COHORT } from './test-support/harness';

/**
 * The malicious modes arrive in a later release. These two sketches show that their shape is
 * the accidental one plus `kind: 'malicious'` and a wider scope: one more catalogue entry.
 */
const fieldDistributed = defineVariant({
  description: 'TxField.Meterset of every field of the patient × (1 + escalationPercent / 100).',
  writes: ['TxField.Meterset'],
  features: ['mu_planned'],
  params: z.strictObject({ escalationPercent: z.number().positive().max(20).default(1.5) }),
  check: (t) => (t.treatment.Pat_ID1 === null ? 'no patient' : null),
  apply({ target, cohort, params }) {
    const fields = cohort.fieldsOfPatient(target.treatment.Pat_ID1!);
    const factor = 1 + params.escalationPercent / 100;
    return {
      changes: compact(
        fields.map((f) =>
          f.Meterset === null
            ? null
            : updateCell('TxField', f, 'Meterset', Math.round(f.Meterset * factor * 10) / 10),
        ),
      ),
      summary: `${fields.length} fields of patient ${target.treatment.Pat_ID1} escalated`,
    };
  },
});

const escalation: FailureMode = defineFailureMode({
  id: 'subtle_dose_escalation',
  kind: 'malicious',
  scope: 'patient',
  description: 'Sketch: every field of one patient raised by a small percentage.',
  variants: { field_distributed: fieldDistributed },
});

const selection: FailureMode = defineFailureMode({
  id: 'targeted_patient_selection',
  kind: 'malicious',
  scope: 'cohort',
  description: 'Sketch: a few patients of the whole cohort picked at random.',
  variants: {
    random_sampling: defineVariant({
      description: 'TxField.Meterset of the first field of `patients` random patients raised by 3 %.',
      writes: ['TxField.Meterset'],
      features: ['mu_planned'],
      params: z.strictObject({ patients: z.number().int().min(1).default(3) }),
      apply({ cohort, params, rng }) {
        const chosen = rng.choice(cohort.rows.Patient, params.patients);
        const fields = chosen.map((p) => cohort.fieldsOfPatient(p.Pat_ID1)[0]).filter((f) => f !== undefined);
        const changes = compact(
          fields.map((f) => updateCell('TxField', f, 'Meterset', (f.Meterset ?? 0) * 1.03 + 0.1)),
        );
        return {
          changes,
          primaryTtxId: cohort.treatmentsOf('FLD_ID', fields[0]!.FLD_ID)[0]!.TTX_ID,
          summary: `${fields.length} patients selected`,
        };
      },
    }),
  },
});

describe('a malicious mode is one more catalogue entry', () => {
  it('has the same type, with kind malicious and a wider scope', () => {
    const scopes: FailureScope[] = [escalation.scope, selection.scope];
    expect(scopes).toEqual(['patient', 'cohort']);
    expect(escalation.kind).toBe('malicious');
    expect(escalation.variant('field_distributed').severity).toBe(2.7);
    expect(() => escalation.variant('linear_ramp')).toThrow(UnknownVariantError);
  });

  it('cannot claim a kind or severity the severity catalogue does not give it', () => {
    expect(() =>
      defineFailureMode({
        id: 'subtle_dose_escalation',
        kind: 'accidental',
        scope: 'patient',
        description: '',
        variants: {},
      }),
    ).toThrow(/kind/);
    expect(() =>
      defineFailureMode({
        id: 'subtle_dose_escalation',
        kind: 'malicious',
        scope: 'patient',
        description: '',
        variants: { within_tolerance: fieldDistributed },
      }),
    ).toThrow(UnknownVariantError);
  });

  it('applies across records: every treatment of the patient is affected', () => {
    const target = COHORT.records.find((r) => r.treatment.Pat_ID1 !== null && r.field !== null)!;
    const app = escalation.apply({ variant: 'field_distributed', target, cohort: COHORT, rng: 1 });
    const expected = COHORT.records
      .filter((r) => r.field !== null && r.field.Pat_ID1 === target.treatment.Pat_ID1)
      .map((r) => r.treatment.TTX_ID)
      .sort((a, b) => a - b);
    expect(app.affectedTtxIds).toEqual(expected);
    const cohortWide = selection.apply({ variant: 'random_sampling', cohort: COHORT, rng: 1 });
    expect(cohortWide.targetTtxId).toBeNull();
    expect(cohortWide.fieldIds.length).toBe(3);
  });

  it('fills the critical_malicious stratum of a plan', () => {
    const catalogue = createFailureCatalogue([...ACCIDENTAL_FAILURE_MODES, escalation]);
    const plan = planCorruption({ cohort: COHORT, n: 60, seed: 1, catalogue });
    expect(plan.droppedStrata).toEqual([]);
    const malicious = plan.examples.filter((e) => e.stratum === 'critical_malicious');
    expect(malicious).toHaveLength(3);
    expect(malicious.every((e) => e.mode === 'subtle_dose_escalation' && e.kind === 'malicious')).toBe(true);
    const accidentalOnly = planCorruption({
      cohort: COHORT,
      n: 60,
      seed: 1,
      catalogue,
      kinds: ['accidental'],
    });
    expect(accidentalOnly.examples.some((e) => e.kind === 'malicious')).toBe(false);
  });
});
