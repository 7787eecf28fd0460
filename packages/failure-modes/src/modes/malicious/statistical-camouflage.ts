import { z } from 'zod';
import { defineVariant } from '../../failure-mode';
import {
  courseOf,
  deliver,
  magnitudeParam,
  meteredFields,
  minFractionsParam,
  pct,
  perSessionMeterset,
  planOf,
  primaryOf,
  r2,
  scaleMeterset,
  sessionsOf,
  startFractionParam,
} from '../../malicious/attack';
import type { Session } from '../../malicious/course';
import { editTimeBefore } from '../../malicious/versions';
import { defineMosaiqMode } from '../shared';
import { METERSET_VERSION_WRITES } from './writes';

type Check = (
  t: Parameters<typeof courseOf>[1],
  cohort: Parameters<typeof courseOf>[0],
  p: { minFractions: number; startFraction: number },
) => string | null;

const planCheck: Check = (t, cohort, p) => {
  const c = courseOf(cohort, t, { minFractions: 1 });
  if ('reason' in c) return c.reason;
  const s = sessionsOf(c.plan, p);
  if ('reason' in s) return s.reason;
  return t.field?.Meterset && t.field.Meterset > 0
    ? null
    : `field ${t.treatment.FLD_ID} has Meterset ${t.field?.Meterset}`;
};

const from = (sessions: readonly Session[], start: number) => sessions.filter((s) => s.number >= start);

export const statisticalCamouflage = defineMosaiqMode({
  id: 'statistical_camouflage',
  kind: 'malicious',
  scope: 'patient',
  description:
    'Dose changes shaped to keep the statistics of the records normal: a bias inside tolerance, zero-mean noise, a change matched by its correlated parameter, values that never stand out. Every treatment field of the plan is delivered with higher-MU versions (as in subtle_dose_escalation) whose values are drawn to defeat threshold checks.',
  variants: {
    within_tolerance_bias: defineVariant({
      description:
        'A constant bias kept inside every tolerance: every treatment field delivered at Meterset × (1 + `biasPercent`/100) (default +1.5 %, at most 3 %) at every fraction from `startFraction` (default the first).',
      evidence:
        'No single fraction exceeds a 3 % tolerance; a one-sample t-test of the per-fraction Meterset deviations (delivered version vs the approved Version 0) against 0 over the course finds the bias (p ≪ 0.01 after ~5 fractions, since planned deliveries do not deviate at all).',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        biasPercent: magnitudeParam(1.5, 0.1, 3, 'constant meterset excess (%), inside a 3 % tolerance'),
        startFraction: startFractionParam(1),
        minFractions: minFractionsParam(5),
      }),
      check: planCheck,
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          fields.map((f) => ({
            fractions: f.fractions.filter((x) => x.session >= params.startFraction),
            edit: scaleMeterset(1 + params.biasPercent / 100),
          })),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${fields.length} fields biased ${pct(params.biasPercent)} MU from fraction ${params.startFraction}`,
        };
      },
    }),
    noise_injection: defineVariant({
      description:
        'Zero-mean noise: each field’s Meterset at each fraction from `startFraction` × (1 + ε/100), ε normal with sd `noiseSdPercent` (default 1.5 %) clipped to ±`clipPercent` (3 %); the mean dose is unchanged, the fraction-to-fraction variance is not.',
      evidence:
        'The variance of the per-fraction Meterset deviations (planned deliveries have none): a chi-square / F test of variance, a runs test on the signs; the course mean stays on plan, so mean-based tests miss it.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z.strictObject({
        noiseSdPercent: magnitudeParam(1.5, 0.1, 5, 'standard deviation of the noise (%)'),
        clipPercent: magnitudeParam(3, 0.5, 10, 'largest deviation of any fraction (%)'),
        startFraction: startFractionParam(1),
        minFractions: minFractionsParam(5),
      }),
      check: planCheck,
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const sessions = from(plan.sessions, params.startFraction);
        const noise: number[] = [];
        const deliveries = fields.flatMap((f) =>
          f.fractions
            .filter((x) => x.session >= params.startFraction)
            .map((x) => {
              const e = Math.max(
                -params.clipPercent,
                Math.min(params.clipPercent, rng.normal(0, params.noiseSdPercent)),
              );
              noise.push(e);
              return { fractions: [x], edit: scaleMeterset(1 + e / 100) };
            }),
        );
        const writer = deliver({ cohort, keys, rng }, plan, deliveries);
        const sd = Math.sqrt(noise.reduce((a, e) => a + e * e, 0) / Math.max(1, noise.length));
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: noise on ${fields.length} fields over ${sessions.length} fractions (rms ${r2(sd)} %, mean ${r2(noise.reduce((a, b) => a + b, 0) / Math.max(1, noise.length))} %)`,
        };
      },
    }),
    correlation_masking: defineVariant({
      description:
        'The dose raised together with its correlated parameter so cross-checks agree: from `startFraction` (default 2) every treatment field delivered at Meterset × (1 + `percent`/100) (default +4 %) under a version of the prescription (Site: Dose_Tx and Dose_Ttl × the same factor; TrackTreatment.SIT_ID and Dose_Hst.SIT_ID name it), so MU per prescribed cGy — the independent MU check — is unchanged.',
      evidence:
        'The prescription itself changed mid-course: a Site version (same SIT_SET_ID) with a higher Dose_Tx than the signed one; MU per cGy constant while MU and Dose_Tx step together at startFraction (a change point in both series, zero in their ratio).',
      writes: [
        ...METERSET_VERSION_WRITES,
        'Site',
        'Site.Dose_Tx',
        'Site.Dose_Ttl',
        'TrackTreatment.SIT_ID',
        'Dose_Hst.SIT_ID',
      ],
      features: ['mu_planned'],
      params: z.strictObject({
        percent: magnitudeParam(4, 0.5, 30, 'meterset and prescription increase (%)'),
        startFraction: startFractionParam(2),
        minFractions: minFractionsParam(3),
      }),
      check(t, cohort, p) {
        const reason = planCheck(t, cohort, p);
        if (reason) return reason;
        const site = t.treatment.SIT_ID === null ? undefined : cohort.row('Site', t.treatment.SIT_ID);
        if (!site) return 'the treatment names no Site row (no prescription to change)';
        return site.Dose_Tx && site.Dose_Tx > 0 ? null : `the site’s Dose_Tx is ${site.Dose_Tx}`;
      },
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const factor = 1 + params.percent / 100;
        const sessions = from(plan.sessions, params.startFraction);
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          fields.map((f) => ({
            fractions: f.fractions.filter((x) => x.session >= params.startFraction),
            edit: scaleMeterset(factor),
          })),
        );
        const round2 = (v: number) => Math.round(v * 100) / 100;
        const siteId = writer.prescribeWith(
          plan,
          sessions.flatMap((s) => s.fractions),
          (site) => ({
            Dose_Tx: site.Dose_Tx === null ? null : round2(site.Dose_Tx * factor),
            Dose_Ttl: site.Dose_Ttl === null ? null : round2(site.Dose_Ttl * factor),
          }),
          editTimeBefore(plan, sessions[0]!.fractions[0]!, rng),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${fields.length} fields and the prescription (Site ${siteId}) ${pct(params.percent)} from fraction ${params.startFraction}`,
        };
      },
    }),
    outlier_avoidance: defineVariant({
      description:
        'Every value drawn to stay inside the normal range: each fraction from `startFraction` gets Meterset × (1 + u/100) on every field, u uniform in [`minPercent`, `maxPercent`] (default 0.5–2.5 %): no fraction is an outlier, yet every one is above plan.',
      evidence:
        'Every deviation from the approved version has the same sign: a sign test / Wilcoxon signed-rank on the per-fraction deviations, a runs test (one run), a one-sample t-test; the deviations’ distribution is flat (uniform), not normal.',
      writes: [...METERSET_VERSION_WRITES],
      features: ['mu_planned'],
      params: z
        .strictObject({
          minPercent: magnitudeParam(0.5, 0.05, 10, 'smallest excess of a fraction (%)'),
          maxPercent: magnitudeParam(2.5, 0.1, 10, 'largest excess of a fraction (%)'),
          startFraction: startFractionParam(1),
          minFractions: minFractionsParam(5),
        })
        .refine((p) => p.minPercent < p.maxPercent, {
          error: 'minPercent below maxPercent',
          path: ['maxPercent'],
        }),
      check: planCheck,
      apply({ target, cohort, params, rng, keys }) {
        const plan = planOf(cohort, target);
        const fields = meteredFields(cohort, plan);
        const sessions = from(plan.sessions, params.startFraction);
        const draws = sessions.map(() => rng.uniform(params.minPercent, params.maxPercent));
        const writer = deliver(
          { cohort, keys, rng },
          plan,
          perSessionMeterset(fields, sessions, (_s, i) => 1 + draws[i]! / 100),
        );
        return {
          changes: writer.changes,
          primaryTtxId: primaryOf(writer.repointed, target, cohort),
          summary: `patient ${plan.patientId}: ${sessions.length} fractions at ${draws.map((d) => r2(d)).join(', ')} % MU on ${fields.length} fields`,
        };
      },
    }),
  },
});
