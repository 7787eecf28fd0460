import type { Rng } from '@anomalia/core';
import type { TreatmentRecord } from '@anomalia/mosaiq';
import { z } from 'zod';
import type { Cohort } from '../../cohort';
import { defineVariant, type VariantOutcome } from '../../failure-mode';
import type { KeyAllocator } from '../../keys';
import {
  deliver,
  meteredFields,
  minFractionsParam,
  pct,
  percentParam,
  perSessionMeterset,
  primaryOf,
  startFractionParam,
} from '../../malicious/attack';
import {
  memo,
  type PlanCourse,
  patientsOf,
  planCourseOf,
  plansOfPatient,
  type Session,
} from '../../malicious/course';
import type { VersionWriter } from '../../malicious/versions';
import { defineMosaiqMode } from '../shared';
import { METERSET_VERSION_WRITES } from './writes';

const YEAR_MS = 365.25 * 86_400_000;
const DAY_MS = 86_400_000;

const patientsParam = (d: number) =>
  z.number().int().min(1).max(50).default(d).describe('most patients attacked (the target’s patient first)');

/** The plan a victim is attacked on: the target's own, else the patient's longest one that qualifies. */
function victimPlan(cohort: Cohort, patientId: number, minFractions: number): PlanCourse | null {
  return memo(cohort, `victim:${patientId}:${minFractions}`, () => {
    const plans = plansOfPatient(cohort, patientId).filter(
      (p) => p.sessions.length >= minFractions && meteredFields(cohort, p).length > 0,
    );
    plans.sort((a, b) => b.sessions.length - a.sessions.length || a.siteSetId - b.siteSetId);
    return plans[0] ?? null;
  });
}

function targetPlan(cohort: Cohort, t: TreatmentRecord, minFractions: number): PlanCourse | string {
  const plan = planCourseOf(cohort, t);
  if ('reason' in plan) return plan.reason;
  if (plan.sessions.length < minFractions)
    return `the plan of patient ${plan.patientId} has ${plan.sessions.length} sessions in the cohort; at least ${minFractions} needed`;
  if (!(t.field?.Meterset && t.field.Meterset > 0))
    return `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
  return plan;
}

/** Age (years) of a patient at the first session of a plan, or null without a birth date. */
function ageAt(cohort: Cohort, plan: PlanCourse): number | null {
  const birth = cohort.row('Patient', plan.patientId)?.Birth_DtTm ?? null;
  return birth ? (plan.sessions[0]!.start.getTime() - birth.getTime()) / YEAR_MS : null;
}

/** Site_Name of a plan (from the site its rows name). */
function siteNameOf(cohort: Cohort, plan: PlanCourse): string | null {
  const sitId = plan.sessions[0]!.fractions[0]!.rows[0]!.SIT_ID;
  return sitId === null ? null : (cohort.row('Site', sitId)?.Site_Name ?? null);
}

/**
 * Other patients whose plan qualifies and `accept`s, in a seeded order; patients with a record in
 * `avoid` (changed by another application) are left alone.
 */
function otherVictims(
  cohort: Cohort,
  exclude: number,
  minFractions: number,
  accept: (plan: PlanCourse) => boolean,
  rng: Rng,
  avoid: ReadonlySet<number> = new Set(),
): PlanCourse[] {
  const out: PlanCourse[] = [];
  for (const p of patientsOf(cohort)) {
    if (p === exclude) continue;
    if (avoid.size > 0 && cohort.treatmentsOf('Pat_ID1', p).some((t) => avoid.has(t.TTX_ID))) continue;
    const plan = victimPlan(cohort, p, minFractions);
    if (plan && accept(plan)) out.push(plan);
  }
  return rng.shuffle(out);
}

/** Applies the payload (Meterset × factor from `startFraction`) to every victim plan. */
function attackVictims(
  ctx: { cohort: Cohort; keys: KeyAllocator; rng: Rng; target: TreatmentRecord },
  victims: readonly { plan: PlanCourse; sessions: readonly Session[] }[],
  percent: number,
  describe: string,
): VariantOutcome {
  const writers: VersionWriter[] = [];
  for (const v of victims) {
    writers.push(
      deliver(
        ctx,
        v.plan,
        perSessionMeterset(meteredFields(ctx.cohort, v.plan), v.sessions, () => 1 + percent / 100),
      ),
    );
  }
  return {
    changes: writers.flatMap((w) => w.changes),
    primaryTtxId: primaryOf(writers[0]!.repointed, ctx.target, ctx.cohort),
    summary: `${victims.length} patients (${describe}): ${victims.map((v) => `${v.plan.patientId} fractions ${v.sessions[0]!.number}–${v.sessions[v.sessions.length - 1]!.number}`).join('; ')} at ${pct(percent)} MU`,
  };
}

const from = (plan: PlanCourse, start: number) => plan.sessions.filter((s) => s.number >= start);

const payload = {
  percent: percentParam(5, 50, 'meterset change on every treatment field of each victim (%)'),
  startFraction: startFractionParam(1),
  minFractions: minFractionsParam(3),
};

export const targetedPatientSelection = defineMosaiqMode({
  id: 'targeted_patient_selection',
  kind: 'malicious',
  scope: 'cohort',
  description:
    'Chosen patients are attacked (every treatment field of their plan delivered with a higher-MU version, as in subtle_dose_escalation) while everyone else is treated as planned, so population statistics hardly move. The variants differ in how victims are chosen: by age, at random, spaced in time, or by treatment site. The target names the first victim.',
  variants: {
    demographic_targeting: defineVariant({
      description:
        'Victims are the patients of an age group (default aged ≥ `minAge` 75 at the start of their course, from Patient.Birth_DtTm): the target’s patient and up to `patients` − 1 (2) others of the group; each gets Meterset × (1 + `percent`/100) (default +5 %) from `startFraction`.',
      evidence:
        'Anomaly rate (or mean per-fraction MU deviation from the approved version) compared across age groups: a chi-square / Fisher test of attacked vs clean courses by group, Benjamini–Hochberg across groups; per-course MU series of the victims.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        minAge: z.number().min(0).max(130).default(75).describe('youngest age (years) in the group'),
        maxAge: z.number().min(0).max(130).default(130).describe('oldest age (years) in the group'),
        patients: patientsParam(3),
      }),
      check(t, cohort, p) {
        const plan = targetPlan(cohort, t, p.minFractions);
        if (typeof plan === 'string') return plan;
        const age = ageAt(cohort, plan);
        if (age === null) return `patient ${plan.patientId} has no Birth_DtTm`;
        if (age < p.minAge || age > p.maxAge)
          return `patient ${plan.patientId} is ${Math.floor(age)} years old, outside ${p.minAge}–${p.maxAge}`;
        return p.startFraction > plan.sessions.length ? `the plan has no fraction ${p.startFraction}` : null;
      },
      apply({ target, cohort, params, rng, keys, avoid }) {
        const plan = targetPlan(cohort, target, params.minFractions) as PlanCourse;
        const inGroup = (pl: PlanCourse) => {
          const age = ageAt(cohort, pl);
          return (
            age !== null &&
            age >= params.minAge &&
            age <= params.maxAge &&
            params.startFraction <= pl.sessions.length
          );
        };
        const others = otherVictims(cohort, plan.patientId, params.minFractions, inGroup, rng, avoid).slice(
          0,
          params.patients - 1,
        );
        const victims = [plan, ...others].map((pl) => ({
          plan: pl,
          sessions: from(pl, params.startFraction),
        }));
        return attackVictims(
          { cohort, keys, rng, target },
          victims,
          params.percent,
          `aged ${params.minAge}–${params.maxAge}: ${victims.map((v) => Math.floor(ageAt(cohort, v.plan)!)).join(', ')} y`,
        );
      },
    }),
    random_sampling: defineVariant({
      description:
        'Victims drawn at random: the target’s patient and `patients` − 1 (2) other patients of the cohort with a course of at least `minFractions`; each gets Meterset × (1 + `percent`/100) (default +5 %) from `startFraction`.',
      evidence:
        'No group signal by design: only per-course tests find the victims (each victim’s per-fraction MU against the approved version: one-sample t-test, CUSUM), with multiple-testing control (Benjamini–Hochberg) across all courses.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({ ...payload, patients: patientsParam(3) }),
      check(t, cohort, p) {
        const plan = targetPlan(cohort, t, p.minFractions);
        if (typeof plan === 'string') return plan;
        return p.startFraction > plan.sessions.length ? `the plan has no fraction ${p.startFraction}` : null;
      },
      apply({ target, cohort, params, rng, keys, avoid }) {
        const plan = targetPlan(cohort, target, params.minFractions) as PlanCourse;
        const others = otherVictims(
          cohort,
          plan.patientId,
          params.minFractions,
          (pl) => params.startFraction <= pl.sessions.length,
          rng,
          avoid,
        ).slice(0, params.patients - 1);
        const victims = [plan, ...others].map((pl) => ({
          plan: pl,
          sessions: from(pl, params.startFraction),
        }));
        return attackVictims({ cohort, keys, rng, target }, victims, params.percent, 'drawn at random');
      },
    }),
    temporal_spacing: defineVariant({
      description:
        'One fraction per victim, the victims spaced in time so that no cluster forms: the target’s fraction first, then for each further victim (up to `patients`, default 4) a patient treated at least `spacingDays` (5) after the previous victim; each attacked fraction gets Meterset × (1 + `percent`/100) (default +10 %).',
      evidence:
        'Single-fraction deviations from the approved version spread over weeks and patients: per-fraction QA against the plan finds each one; over time, the attacked fractions are evenly spaced (a runs / inter-arrival test on the dates of deviating fractions shows no clustering, unlike accidents that cluster around an event).',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: percentParam(10, 50, 'meterset change on each victim’s attacked fraction (%)'),
        patients: patientsParam(4),
        spacingDays: z.number().min(1).max(365).default(5).describe('days between consecutive victims'),
        minFractions: minFractionsParam(1),
      }),
      check(t, cohort, p) {
        const plan = targetPlan(cohort, t, p.minFractions);
        if (typeof plan === 'string') return plan;
        const session = plan.sessions.find((s) => s.fractions.some((f) => f.rows.includes(t.treatment)));
        if (!session) return `TrackTreatment ${t.treatment.TTX_ID} is in no delivered fraction`;
        const after = session.start.getTime() + p.spacingDays * DAY_MS;
        const next = patientsOf(cohort).some((pat) => {
          if (pat === plan.patientId) return false;
          const pl = victimPlan(cohort, pat, p.minFractions);
          return pl?.sessions.some((s) => s.start.getTime() >= after) === true;
        });
        return next ? null : `no other patient is treated ${p.spacingDays} days or more after this fraction`;
      },
      apply({ target, cohort, params, rng, keys, avoid }) {
        const plan = targetPlan(cohort, target, params.minFractions) as PlanCourse;
        const first = plan.sessions.find((s) => s.fractions.some((f) => f.rows.includes(target.treatment)))!;
        const victims: { plan: PlanCourse; sessions: Session[] }[] = [{ plan, sessions: [first] }];
        const used = new Set([plan.patientId]);
        let last = first.start.getTime();
        while (victims.length < params.patients) {
          const after = last + params.spacingDays * DAY_MS;
          const candidates = otherVictims(
            cohort,
            plan.patientId,
            params.minFractions,
            (pl) => !used.has(pl.patientId),
            rng,
            avoid,
          )
            .map((pl) => ({ plan: pl, session: pl.sessions.find((s) => s.start.getTime() >= after) }))
            .filter((c) => c.session !== undefined);
          if (candidates.length === 0) break;
          // The earliest qualifying session of a random candidate keeps the spacing close to spacingDays.
          const pick = candidates[0]!;
          victims.push({ plan: pick.plan, sessions: [pick.session!] });
          used.add(pick.plan.patientId);
          last = pick.session!.start.getTime();
        }
        return attackVictims(
          { cohort, keys, rng, target },
          victims,
          params.percent,
          `one fraction each, ≥ ${params.spacingDays} days apart: ${victims.map((v) => v.sessions[0]!.start.toISOString().slice(0, 10)).join(', ')}`,
        );
      },
    }),
    site_specific: defineVariant({
      description:
        'Victims confined to one treatment site (Site.Site_Name; default the target’s): the target’s patient and up to `patients` − 1 (2) other patients treated for that site; each gets Meterset × (1 + `percent`/100) (default +5 %) from `startFraction`.',
      evidence:
        'Per-site statistics: the mean per-fraction MU deviation from the approved version (or the anomaly rate) of the site against the other sites (Kruskal–Wallis / chi-square by Site_Name), then the per-course series of that site’s patients.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        ...payload,
        site: z.string().min(1).max(64).optional().describe('Site_Name to target (default: the target’s)'),
        patients: patientsParam(3),
      }),
      check(t, cohort, p) {
        const plan = targetPlan(cohort, t, p.minFractions);
        if (typeof plan === 'string') return plan;
        const name = siteNameOf(cohort, plan);
        if (name === null) return `the plan of patient ${plan.patientId} names no Site row`;
        if (p.site !== undefined && name !== p.site)
          return `the target’s site is ${JSON.stringify(name)}, not ${JSON.stringify(p.site)}`;
        if (p.startFraction > plan.sessions.length) return `the plan has no fraction ${p.startFraction}`;
        const others = patientsOf(cohort).some((pat) => {
          if (pat === plan.patientId) return false;
          const pl = victimPlan(cohort, pat, p.minFractions);
          return pl !== null && siteNameOf(cohort, pl) === name;
        });
        return others ? null : `no other patient of the cohort is treated for ${JSON.stringify(name)}`;
      },
      apply({ target, cohort, params, rng, keys, avoid }) {
        const plan = targetPlan(cohort, target, params.minFractions) as PlanCourse;
        const name = siteNameOf(cohort, plan)!;
        const others = otherVictims(
          cohort,
          plan.patientId,
          params.minFractions,
          (pl) => siteNameOf(cohort, pl) === name && params.startFraction <= pl.sessions.length,
          rng,
          avoid,
        ).slice(0, params.patients - 1);
        const victims = [plan, ...others].map((pl) => ({
          plan: pl,
          sessions: from(pl, params.startFraction),
        }));
        return attackVictims({ cohort, keys, rng, target }, victims, params.percent, `site ${name}`);
      },
    }),
  },
});
