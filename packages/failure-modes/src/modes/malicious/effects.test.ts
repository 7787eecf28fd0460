import {
  decodeLeafSet,
  type TreatmentRecord,
  type TxFieldPointRow,
  type UpdateChange,
} from '@anomalia/mosaiq';
import { describe, expect, it } from 'vitest';
import { openPairs, pointGeometry } from '../../malicious/aperture';
import { type PlanCourse, planCourse, planCourseOf, setIdOf } from '../../malicious/course';
import { LONG, type MaliciousRun, runMalicious } from '../../test-support/course-harness';

/**
 * The cumulative effect of each malicious variant is what its parameters say: read back from the
 * rows after the changes, fraction by fraction, in delivery order.
 */

interface Delivered {
  session: number;
  setId: number;
  ttxId: number;
  before: TreatmentRecord;
  after: TreatmentRecord;
}

/** Every fraction of a plan as delivered before and after the changes (one beam record each). */
function delivered(run: MaliciousRun, plan: PlanCourse): Delivered[] {
  const after = new Map(run.recordsAfter.map((r) => [r.treatment.TTX_ID, r]));
  const out: Delivered[] = [];
  for (const s of plan.sessions) {
    for (const f of s.fractions) {
      const beam = f.rows.find((t) => t.WasBeamOn !== false && after.has(t.TTX_ID))!;
      const before = LONG.record(beam.TTX_ID)!;
      out.push({
        session: s.number,
        setId: setIdOf(before.field!),
        ttxId: beam.TTX_ID,
        before,
        after: after.get(beam.TTX_ID)!,
      });
    }
  }
  return out;
}

const planOfRun = (run: MaliciousRun) => planCourseOf(LONG, run.target) as PlanCourse;
/** Meterset change of a delivered fraction (%). */
const muPercent = (d: Delivered) => (d.after.field!.Meterset! / d.before.field!.Meterset! - 1) * 100;
/** Tolerance of a meterset stored to 0.01 MU, in %. */
const muTol = (d: Delivered) => (0.006 / d.before.field!.Meterset!) * 100;
const bySession = (ds: Delivered[]) => {
  const m = new Map<number, Delivered[]>();
  for (const d of ds) (m.get(d.session) ?? m.set(d.session, []).get(d.session)!).push(d);
  return m;
};
const metered = (ds: Delivered[]) => ds.filter((d) => (d.before.field!.Meterset ?? 0) > 0);

function leaves(cp: TxFieldPointRow) {
  return {
    a: decodeLeafSet(cp.A_Leaf_Set, cp.MLC_Leaves).positions,
    b: decodeLeafSet(cp.B_Leaf_Set, cp.MLC_Leaves).positions,
  };
}

describe('subtle_dose_escalation', () => {
  it('linear_ramp: + step per fraction up to the cap; cumulative MU is the mean of the ramp', () => {
    const params = { stepPercent: 0.8, maxPercent: 4, startFraction: 2 };
    const run = runMalicious('subtle_dose_escalation', 'linear_ramp', params);
    const ds = metered(delivered(run, planOfRun(run)));
    let planned = 0;
    let got = 0;
    let expected = 0;
    for (const d of ds) {
      const want = d.session < 2 ? 0 : Math.min(0.8 * (d.session - 1), 4);
      expect(Math.abs(muPercent(d) - want)).toBeLessThanOrEqual(muTol(d));
      planned += d.before.field!.Meterset!;
      got += d.after.field!.Meterset!;
      expected += d.before.field!.Meterset! * (1 + want / 100);
    }
    expect(Math.abs(got - expected)).toBeLessThan(0.01 * ds.length);
    expect(got / planned).toBeGreaterThan(1);
    // Fraction 1 stays as planned: the same FLD_ID.
    for (const d of ds.filter((x) => x.session === 1))
      expect(d.after.treatment.FLD_ID).toBe(d.before.treatment.FLD_ID);
  });

  it('random_walk: one factor per fraction for every field, within the bound', () => {
    const run = runMalicious('subtle_dose_escalation', 'random_walk', { boundPercent: 2 });
    for (const list of bySession(metered(delivered(run, planOfRun(run)))).values()) {
      const first = muPercent(list[0]!);
      for (const d of list) {
        expect(Math.abs(muPercent(d))).toBeLessThanOrEqual(2 + muTol(d));
        expect(Math.abs(muPercent(d) - first)).toBeLessThanOrEqual(muTol(d) + muTol(list[0]!));
      }
    }
  });

  it('fraction_selective: only the last `count` fractions, at `percent`', () => {
    const run = runMalicious('subtle_dose_escalation', 'fraction_selective', { percent: 9, count: 2 });
    const plan = planOfRun(run);
    const n = plan.sessions.length;
    for (const d of metered(delivered(run, plan))) {
      expect(Math.abs(muPercent(d) - (d.session > n - 2 ? 9 : 0))).toBeLessThanOrEqual(muTol(d));
    }
  });

  it('field_distributed: the plan total rises by `percent`, unevenly over the fields', () => {
    const run = runMalicious('subtle_dose_escalation', 'field_distributed', { percent: 5 });
    for (const list of bySession(metered(delivered(run, planOfRun(run)))).values()) {
      const before = list.reduce((a, d) => a + d.before.field!.Meterset!, 0);
      const after = list.reduce((a, d) => a + d.after.field!.Meterset!, 0);
      expect(Math.abs((after / before - 1) * 100 - 5)).toBeLessThan(0.02 * list.length);
      expect(new Set(list.map((d) => Math.round(muPercent(d) * 10))).size).toBeGreaterThan(1);
    }
  });
});

describe('targeted_patient_selection', () => {
  /** Every attacked patient and the change of each of their fractions. */
  function victims(run: MaliciousRun) {
    const changed = new Set(run.app.affectedTtxIds);
    const patients = new Set([...changed].map((id) => LONG.record(id)!.treatment.Pat_ID1!));
    return [...patients].map((p) => {
      const rec = LONG.records.find(
        (r) => r.treatment.Pat_ID1 === p && [...changed].includes(r.treatment.TTX_ID),
      )!;
      const plan = planCourse(LONG, p, rec.field!.SIT_Set_ID!) as PlanCourse;
      return { patient: p, plan, fractions: metered(delivered(run, plan)) };
    });
  }

  it('demographic_targeting: only patients of the age group, every fraction at `percent`', () => {
    const run = runMalicious('targeted_patient_selection', 'demographic_targeting', {
      minAge: 70,
      patients: 3,
    });
    const vs = victims(run);
    expect(vs.length).toBeGreaterThan(1);
    expect(vs.length).toBeLessThanOrEqual(3);
    for (const v of vs) {
      const birth = LONG.row('Patient', v.patient)!.Birth_DtTm!;
      expect(
        (v.plan.sessions[0]!.start.getTime() - birth.getTime()) / (365.25 * 86_400_000),
      ).toBeGreaterThanOrEqual(70);
      for (const d of v.fractions) expect(Math.abs(muPercent(d) - 5)).toBeLessThanOrEqual(muTol(d));
    }
  });

  it('random_sampling: `patients` victims; site_specific: all of one site', () => {
    const run = runMalicious('targeted_patient_selection', 'random_sampling', { patients: 3, percent: -4 });
    const vs = victims(run);
    expect(vs).toHaveLength(3);
    for (const v of vs)
      for (const d of v.fractions) expect(Math.abs(muPercent(d) + 4)).toBeLessThanOrEqual(muTol(d));
    const site = runMalicious('targeted_patient_selection', 'site_specific');
    const names = new Set(
      victims(site).map((v) => LONG.row('Site', v.fractions[0]!.before.treatment.SIT_ID!)!.Site_Name),
    );
    expect(victims(site).length).toBeGreaterThan(1);
    expect(names.size).toBe(1);
  });

  it('temporal_spacing: one fraction per victim, at least `spacingDays` apart', () => {
    const run = runMalicious('targeted_patient_selection', 'temporal_spacing', {
      spacingDays: 4,
      patients: 3,
    });
    const vs = victims(run);
    expect(vs.length).toBeGreaterThan(1);
    const days = vs
      .map((v) => {
        const hit = new Set(v.fractions.filter((d) => Math.abs(muPercent(d)) > 1).map((d) => d.session));
        expect(hit.size).toBe(1);
        return v.plan.sessions[[...hit][0]! - 1]!.start.getTime();
      })
      .sort((a, b) => a - b);
    for (let i = 1; i < days.length; i++)
      expect(days[i]! - days[i - 1]!).toBeGreaterThanOrEqual(4 * 86_400_000);
  });
});

describe('coordinated_multifield_attack', () => {
  it('compensatory_errors: each field ± percent, the plan total unchanged', () => {
    const run = runMalicious('coordinated_multifield_attack', 'compensatory_errors', { percent: 5 });
    for (const [session, list] of bySession(metered(delivered(run, planOfRun(run))))) {
      const before = list.reduce((a, d) => a + d.before.field!.Meterset!, 0);
      const after = list.reduce((a, d) => a + d.after.field!.Meterset!, 0);
      expect(Math.abs(after - before)).toBeLessThan(0.01 * list.length);
      if (session >= 2) {
        expect(list.some((d) => Math.abs(muPercent(d) - 5) <= muTol(d))).toBe(true);
        expect(list.some((d) => muPercent(d) < -1)).toBe(true);
      } else for (const d of list) expect(muPercent(d)).toBe(0);
    }
  });

  it('geometric_shift: open leaves move by shift × cos(gantry) × cos(collimator) in every field', () => {
    const run = runMalicious('coordinated_multifield_attack', 'geometric_shift', { shiftMm: 3 });
    const ds = delivered(run, planOfRun(run)).filter((d) => d.session >= 2);
    expect(new Set(ds.map((d) => d.setId)).size).toBeGreaterThan(1);
    for (const d of ds) {
      d.before.controlPoints.forEach((cp, i) => {
        const g = pointGeometry(cp);
        if (typeof g === 'string') return;
        const after = leaves(d.after.controlPoints[i]!);
        const shift =
          0.3 * Math.cos((cp.Gantry_Ang! * Math.PI) / 180) * Math.cos((cp.Coll_Ang! * Math.PI) / 180);
        for (const k of openPairs(g)) {
          if (Math.abs(g.a[k]! + shift) > 19.9 || Math.abs(g.b[k]! + shift) > 19.9) continue;
          expect(Math.abs(after.a[k]! - g.a[k]! - shift)).toBeLessThanOrEqual(0.0051);
          expect(Math.abs(after.b[k]! - g.b[k]! - shift)).toBeLessThanOrEqual(0.0051);
        }
      });
    }
  });

  it('aperture_erosion: every field’s gaps shrink by twice the erosion, its Y jaws close', () => {
    const run = runMalicious('coordinated_multifield_attack', 'aperture_erosion', { erosionMm: 2 });
    for (const d of delivered(run, planOfRun(run)).filter((x) => x.session >= 2)) {
      const cp = d.before.controlPoints[0]!;
      const g = pointGeometry(cp);
      if (typeof g === 'string') continue;
      const after = leaves(d.after.controlPoints[0]!);
      for (const k of openPairs(g)) {
        const gap = g.b[k]! - g.a[k]!;
        const want = gap - 0.4 >= 0.3 ? gap - 0.4 : Math.min(0.3, gap);
        expect(Math.abs(after.b[k]! - after.a[k]! - want)).toBeLessThanOrEqual(0.011);
      }
      expect(d.after.controlPoints[0]!.Coll_Y2).toBeCloseTo(cp.Coll_Y2! - 0.2, 6);
      expect(d.after.controlPoints[0]!.Field_Y).toBeCloseTo(
        d.after.controlPoints[0]!.Coll_Y2! - d.after.controlPoints[0]!.Coll_Y1!,
        6,
      );
    }
  });

  it('hotspot_creation: every field opens the same jaw by the extension, the uncovered pairs as the edge pair', () => {
    const run = runMalicious('coordinated_multifield_attack', 'hotspot_creation', { extendMm: 10 });
    const ds = delivered(run, planOfRun(run)).filter((x) => x.session >= 2);
    for (const d of ds) {
      const cp = d.before.controlPoints[0]!;
      const after = d.after.controlPoints[0]!;
      expect(after.Coll_Y2).toBeCloseTo(Math.min(20, cp.Coll_Y2! + 1), 6);
      expect(after.Coll_Y1).toBe(cp.Coll_Y1);
      const ga = pointGeometry(after);
      if (typeof ga === 'string') throw new Error(ga);
      expect(openPairs(ga).length).toBeGreaterThan(openPairs(pointGeometry(cp) as never).length);
    }
  });
});

describe('time_delayed_corruption', () => {
  it('scheduled_activation: nothing before the activation, `percent` after, the version stamped at activation', () => {
    const run = runMalicious('time_delayed_corruption', 'scheduled_activation', { percent: 6 });
    const plan = planOfRun(run);
    const at = (
      run.app.changes.find((c) => c.kind === 'insert' && c.table === 'TxField') as unknown as {
        row: { Edit_DtTm: Date };
      }
    ).row.Edit_DtTm;
    expect(at.getUTCHours()).toBe(0);
    for (const d of metered(delivered(run, plan))) {
      const active = plan.sessions[d.session - 1]!.start >= at;
      expect(Math.abs(muPercent(d) - (active ? 6 : 0))).toBeLessThanOrEqual(muTol(d));
    }
  });

  it('conditional_execution: active exactly on the fractions without imaging', () => {
    const run = runMalicious('time_delayed_corruption', 'conditional_execution');
    const plan = planOfRun(run);
    for (const d of metered(delivered(run, plan))) {
      const s = plan.sessions[d.session - 1]!;
      const imaged = LONG.rowsWhere('Offset', 'SIT_SET_ID', plan.siteSetId).some(
        (o) =>
          o.Version === 0 &&
          o.Study_DtTm!.getTime() >= s.start.getTime() - 7_200_000 &&
          o.Study_DtTm!.getTime() <= s.end.getTime() + 3_600_000,
      );
      expect(Math.abs(muPercent(d) - (imaged ? 0 : 8))).toBeLessThanOrEqual(muTol(d));
    }
  });

  it('database_trigger: compounding after activation, audit columns of the approved version kept', () => {
    const run = runMalicious('time_delayed_corruption', 'database_trigger', { percentPerFraction: 2 });
    const ds = metered(delivered(run, planOfRun(run)));
    const firstActive = Math.min(...ds.filter((d) => muPercent(d) > 0.5).map((d) => d.session));
    for (const d of ds) {
      const k = d.session - firstActive + 1;
      const want = k >= 1 ? (1.02 ** k - 1) * 100 : 0;
      expect(Math.abs(muPercent(d) - want)).toBeLessThanOrEqual(muTol(d));
      if (k >= 1) {
        expect(d.after.field!.Edit_DtTm).toEqual(d.before.field!.Edit_DtTm);
        expect(d.after.field!.Edit_ID).toBe(d.before.field!.Edit_ID);
      }
    }
  });

  it('gradual_onset: grows over `onsetFractions` then holds at `percent`', () => {
    const run = runMalicious('time_delayed_corruption', 'gradual_onset', { percent: 6, onsetFractions: 2 });
    const ds = metered(delivered(run, planOfRun(run)));
    const firstActive = Math.min(...ds.filter((d) => muPercent(d) > 0.5).map((d) => d.session));
    for (const d of ds) {
      const k = d.session - firstActive + 1;
      const want = k >= 1 ? 6 * Math.min(1, k / 2) : 0;
      expect(Math.abs(muPercent(d) - want)).toBeLessThanOrEqual(muTol(d));
    }
  });
});

describe('statistical_camouflage', () => {
  it('within_tolerance_bias: +bias at every fraction, never beyond it; the course mean is the bias', () => {
    const run = runMalicious('statistical_camouflage', 'within_tolerance_bias', { biasPercent: 1.5 });
    const ds = metered(delivered(run, planOfRun(run)));
    for (const d of ds) expect(Math.abs(muPercent(d) - 1.5)).toBeLessThanOrEqual(muTol(d));
  });

  it('noise_injection: zero-mean noise within the clip, fraction to fraction', () => {
    const run = runMalicious('statistical_camouflage', 'noise_injection', {
      noiseSdPercent: 1,
      clipPercent: 2,
    });
    const e = metered(delivered(run, planOfRun(run))).map(muPercent);
    for (const x of e) expect(Math.abs(x)).toBeLessThanOrEqual(2.01);
    expect(e.some((x) => x > 0.1)).toBe(true);
    expect(e.some((x) => x < -0.1)).toBe(true);
  });

  it('correlation_masking: MU and prescription rise together, MU per cGy unchanged', () => {
    const run = runMalicious('statistical_camouflage', 'correlation_masking', { percent: 4 });
    for (const d of metered(delivered(run, planOfRun(run)))) {
      const rxBefore = d.before.site!.Dose_Tx!;
      const rxAfter = d.after.site!.Dose_Tx!;
      if (d.session < 2) {
        expect(rxAfter).toBe(rxBefore);
        continue;
      }
      expect(rxAfter / rxBefore).toBeCloseTo(1.04, 3);
      expect(d.after.field!.Meterset! / rxAfter).toBeCloseTo(d.before.field!.Meterset! / rxBefore, 3);
      expect(d.after.site!.SIT_SET_ID).toBe(d.before.site!.SIT_SET_ID);
    }
  });

  it('outlier_avoidance: every fraction inside [min, max], all above plan', () => {
    const run = runMalicious('statistical_camouflage', 'outlier_avoidance', { minPercent: 1, maxPercent: 2 });
    for (const d of metered(delivered(run, planOfRun(run)))) {
      expect(muPercent(d)).toBeGreaterThanOrEqual(1 - muTol(d));
      expect(muPercent(d)).toBeLessThanOrEqual(2 + muTol(d));
    }
  });
});

describe('audit_trail_manipulation', () => {
  const version = (run: MaliciousRun) =>
    (
      run.app.changes.find((c) => c.kind === 'insert' && c.table === 'TxField') as {
        row: Record<string, unknown>;
      }
    ).row;

  it('timestamp_forgery: the version is stamped minutes after the approved version was edited', () => {
    const run = runMalicious('audit_trail_manipulation', 'timestamp_forgery');
    const v = version(run);
    const base = run.target.field!;
    const dt = (v.Edit_DtTm as Date).getTime() - base.Edit_DtTm!.getTime();
    expect(dt).toBeGreaterThanOrEqual(60_000);
    expect(dt).toBeLessThanOrEqual(600_000);
    expect(v.Edit_ID).toBe(base.Edit_ID);
    expect((v.Meterset as number) / base.Meterset!).toBeCloseTo(1.05, 3);
  });

  it('user_impersonation: the version names another user than the planner', () => {
    const run = runMalicious('audit_trail_manipulation', 'user_impersonation');
    expect(version(run).Edit_ID).not.toBe(run.target.field!.Edit_ID);
    const chosen = runMalicious('audit_trail_manipulation', 'user_impersonation', { staffId: 777 });
    expect(version(chosen).Edit_ID).toBe(777);
  });

  it('log_deletion: NULL audit on the version, the selection rows of the attacked fractions deleted', () => {
    const run = runMalicious('audit_trail_manipulation', 'log_deletion');
    expect(version(run)).toMatchObject({ Edit_DtTm: null, Edit_ID: null });
    const deleted = run.app.changes.filter((c) => c.kind === 'delete');
    expect(deleted.length).toBeGreaterThan(0);
    for (const c of deleted)
      expect(c.kind === 'delete' && c.row.WasBeamOn === false && c.row.DHS_ID === null).toBe(true);
  });

  it('audit_disable: the field edited in place, audit ids NULL only inside the window', () => {
    const run = runMalicious('audit_trail_manipulation', 'audit_disable', { percent: 5 });
    const meterset = run.app.changes.find(
      (c) => c.kind === 'update' && c.table === 'TxField',
    ) as UpdateChange;
    expect(meterset.column).toBe('Meterset');
    expect((meterset.newValue as number) / (meterset.oldValue as number)).toBeCloseTo(1.05, 3);
    expect(run.app.changes.some((c) => c.kind === 'insert')).toBe(false);
    const nulled = run.app.changes.filter((c) => c.kind === 'update' && c.table === 'TrackTreatment');
    expect(nulled.length).toBeGreaterThan(0);
    const times = nulled.map((c) => LONG.row('TrackTreatment', c.key)!.Create_DtTm!.getTime());
    // One session (windowFractions 1): within a few hours.
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(6 * 3_600_000);
  });
});

describe('field_aperture_manipulation and collimator_jaw_manipulation', () => {
  const firstPoint = (run: MaliciousRun) => {
    const ds = delivered(run, planOfRun(run)).filter(
      (d) => d.setId === setIdOf(run.target.field!) && d.session >= 1,
    );
    const attacked = ds.filter((d) => d.after.treatment.FLD_ID !== d.before.treatment.FLD_ID);
    expect(attacked.length).toBeGreaterThan(0);
    const d = attacked[attacked.length - 1]!;
    return { before: d.before.controlPoints[0]!, after: d.after.controlPoints[0]! };
  };

  it('systematic_shift moves every open leaf by the shift; margin_erosion closes each side', () => {
    const shift = firstPoint(runMalicious('field_aperture_manipulation', 'systematic_shift', { shiftMm: 2 }));
    const g = pointGeometry(shift.before) as Exclude<ReturnType<typeof pointGeometry>, string>;
    const a = leaves(shift.after);
    for (const k of openPairs(g)) expect(a.a[k]! - g.a[k]!).toBeCloseTo(0.2, 6);
    const erosion = firstPoint(
      runMalicious('field_aperture_manipulation', 'margin_erosion', { erosionMm: 1 }),
    );
    const ge = pointGeometry(erosion.before) as typeof g;
    const e = leaves(erosion.after);
    for (const k of openPairs(ge))
      if (ge.b[k]! - ge.a[k]! > 0.6) expect(e.b[k]! - e.a[k]!).toBeCloseTo(ge.b[k]! - ge.a[k]! - 0.2, 6);
  });

  it('oar_expansion opens one bank on half the pairs; asymmetric_blur moves one bank within ±blur', () => {
    const oar = firstPoint(
      runMalicious('field_aperture_manipulation', 'oar_expansion', { expansionMm: 5, half: 'all' }),
    );
    const g = pointGeometry(oar.before) as Exclude<ReturnType<typeof pointGeometry>, string>;
    const o = leaves(oar.after);
    for (const k of openPairs(g)) {
      expect(o.a[k]).toBeCloseTo(g.a[k]!, 6);
      expect(o.b[k]!).toBeCloseTo(Math.min(20, g.b[k]! + 0.5), 6);
    }
    const blur = firstPoint(runMalicious('field_aperture_manipulation', 'asymmetric_blur', { blurMm: 2 }));
    const gb = pointGeometry(blur.before) as typeof g;
    const b = leaves(blur.after);
    const moved = openPairs(gb).map((k) => b.a[k]! - gb.a[k]!);
    for (const m of moved) expect(Math.abs(m)).toBeLessThanOrEqual(0.2 + 1e-9);
    expect(new Set(moved.map((m) => m.toFixed(2))).size).toBeGreaterThan(2);
    for (const k of openPairs(gb)) expect(b.b[k]).toBeCloseTo(gb.b[k]!, 6);
  });

  it('jaw variants move the jaws as asked and keep Field_Y = Y2 − Y1', () => {
    const cases = [
      ['jaw_asymmetry', { shiftMm: 4 }, 0.4, 0.4],
      ['field_size_reduction', { mm: 5 }, 0.5, -0.5],
      ['field_size_expansion', { mm: 10 }, -1, 1],
      ['gradient_shift', { mm: 2 }, 0, 0.2],
    ] as const;
    for (const [variant, params, dy1, dy2] of cases) {
      const { before, after } = firstPoint(runMalicious('collimator_jaw_manipulation', variant, params));
      expect(after.Coll_Y1, variant).toBeCloseTo(Math.max(-20, before.Coll_Y1! + dy1), 6);
      expect(after.Coll_Y2, variant).toBeCloseTo(Math.min(20, before.Coll_Y2! + dy2), 6);
      expect(after.Field_Y).toBeCloseTo(after.Coll_Y2! - after.Coll_Y1!, 6);
      expect(after.A_Leaf_Set).toEqual(before.A_Leaf_Set);
    }
  });
});

describe('gradual_parameter_drift', () => {
  const ofTarget = (run: MaliciousRun) =>
    delivered(run, planOfRun(run)).filter((d) => d.setId === setIdOf(run.target.field!));

  it('gantry_angle_drift: k × rate at the k-th fraction; mu_creep compounds', () => {
    const run = runMalicious('gradual_parameter_drift', 'gantry_angle_drift', { degreesPerFraction: 0.7 });
    ofTarget(run).forEach((d, k) => {
      const want = (((d.before.controlPoints[0]!.Gantry_Ang! + 0.7 * (k + 1)) % 360) + 360) % 360;
      expect(d.after.controlPoints[0]!.Gantry_Ang).toBeCloseTo(Math.round(want * 10) / 10, 6);
    });
    const creep = runMalicious('gradual_parameter_drift', 'mu_creep', { percentPerFraction: 1.5 });
    const ds = ofTarget(creep);
    ds.forEach((d, k) => {
      expect(Math.abs(muPercent(d) - (1.015 ** (k + 1) - 1) * 100)).toBeLessThanOrEqual(muTol(d));
    });
    // The cumulative course MU is planned × Σ 1.015^k.
    const planned = ds.reduce((a, d) => a + d.before.field!.Meterset!, 0);
    const got = ds.reduce((a, d) => a + d.after.field!.Meterset!, 0);
    const want = ds.reduce((a, d, k) => a + d.before.field!.Meterset! * 1.015 ** (k + 1), 0);
    expect(Math.abs(got - want)).toBeLessThan(0.01 * ds.length);
    // At least the arithmetic mean of the first-order excesses 1.5 % × (n + 1) / 2.
    expect(got / planned - 1).toBeGreaterThanOrEqual((0.015 * (ds.length + 1)) / 2 - 1e-3);
  });

  it('mlc_drift: every open leaf k × rate off at the k-th fraction', () => {
    const run = runMalicious('gradual_parameter_drift', 'mlc_drift', { mmPerFraction: 0.5 });
    ofTarget(run).forEach((d, k) => {
      const g = pointGeometry(d.before.controlPoints[0]!) as Exclude<
        ReturnType<typeof pointGeometry>,
        string
      >;
      const a = leaves(d.after.controlPoints[0]!);
      for (const i of openPairs(g)) {
        if (Math.abs(g.b[i]! + 0.05 * (k + 1)) < 19.9)
          expect(a.b[i]! - g.b[i]!).toBeCloseTo(0.05 * (k + 1), 6);
      }
    });
  });

  it('isocenter_shift: the session offsets drift by k × rate along the axis', () => {
    const run = runMalicious('gradual_parameter_drift', 'isocenter_shift', {
      mmPerFraction: 2,
      axis: 'anterior',
    });
    const changes = run.app.changes as UpdateChange[];
    expect(new Set(changes.map((c) => c.column))).toEqual(new Set(['Anterior_Offset']));
    const byTime = changes
      .map((c) => ({
        t: LONG.row('Offset', c.key)!.Study_DtTm!.getTime(),
        d: (c.newValue as number) - (c.oldValue as number),
      }))
      .sort((a, b) => a.t - b.t);
    const steps = [...new Set(byTime.map((x) => Math.round(x.d * 10)))];
    expect(steps).toEqual(steps.map((_, k) => 2 * (k + 1)));
  });
});

describe('selective_fraction_sabotage', () => {
  const hit = (run: MaliciousRun) =>
    [
      ...new Set(
        metered(delivered(run, planOfRun(run)))
          .filter((d) => muPercent(d) > 1)
          .map((d) => d.session),
      ),
    ].sort((a, b) => a - b);

  it('periodic_attacks: every period-th fraction, at +percent', () => {
    const run = runMalicious('selective_fraction_sabotage', 'periodic_attacks', { period: 3 });
    const plan = planOfRun(run);
    expect(hit(run)).toEqual(plan.sessions.map((s) => s.number).filter((n) => n % 3 === 0));
    for (const d of metered(delivered(run, plan)).filter((x) => x.session % 3 === 0))
      expect(Math.abs(muPercent(d) - 15)).toBeLessThanOrEqual(muTol(d));
  });

  it('random_selection: `count` fractions; calendar_based: only the chosen weekdays', () => {
    expect(hit(runMalicious('selective_fraction_sabotage', 'random_selection', { count: 4 }))).toHaveLength(
      4,
    );
    const run = runMalicious('selective_fraction_sabotage', 'calendar_based', { weekdays: [1, 3] });
    const plan = planOfRun(run);
    for (const s of hit(run)) expect([1, 3]).toContain(plan.sessions[s - 1]!.start.getUTCDay());
    expect(hit(run)).toEqual(
      plan.sessions.filter((s) => [1, 3].includes(s.start.getUTCDay())).map((s) => s.number),
    );
  });

  it('staff_correlated: exactly the fractions the chosen therapist treated', () => {
    const run = runMalicious('selective_fraction_sabotage', 'staff_correlated');
    const plan = planOfRun(run);
    const sessions = hit(run).map((n) => plan.sessions[n - 1]!);
    const staff = new Set(sessions.map((s) => s.fractions[0]!.staffId));
    expect(staff.size).toBe(1);
    const id = [...staff][0];
    expect(hit(run)).toEqual(
      plan.sessions.filter((s) => s.fractions[0]!.staffId === id).map((s) => s.number),
    );
    expect(hit(run).length).toBeLessThan(plan.sessions.length);
  });
});
