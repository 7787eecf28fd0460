import { Rng } from '@anomalia/core';
import type { ModelIdentity } from '../seam';
import type { MemoryRecord } from './memory-source';

/**
 * A small in-memory clinic for the dashboard demo and its screenshot: a few days of treatments,
 * mostly normal, with a handful of corrupted ones in every band (QA74 feature names, a linear
 * energy model whose terms are the saliency). The simulator of the real demo replaces it.
 */
export const DEMO_MODEL: ModelIdentity = { name: 'ebm-qa74', version: 'demo-1' };

/** Energy per unit of each feature (energy = Σ weight × value). */
export const DEMO_WEIGHTS: Readonly<Record<string, number>> = {
  duration_seconds: 0.001,
  mu_planned: 0.0005,
  offset_vector_magnitude: 0.25,
  a_std_pos: 0.05,
  gantry_out_of_range: 2.7,
  mu_extreme_high: 1.9,
  cp_gap_count: 0.4,
  min_gap: -0.3,
  coll_range: 0.004,
};

const MACHINES = ['LA1', 'LA2', 'LA3'];
const SITES = [
  { site: 'Prostate', fields: ['1 AP', '2 RPO', '3 LPO', '4 VMAT arc'] },
  { site: 'Lung L', fields: ['1 AP', '2 PA', '3 LAO 20'] },
  { site: 'Breast R', fields: ['1 Med tangent', '2 Lat tangent'] },
  { site: 'H&N', fields: ['1 VMAT arc 1', '2 VMAT arc 2'] },
];

interface Corruption {
  readonly features: Readonly<Record<string, number>>;
  readonly malicious?: MemoryRecord['malicious'];
}

/** The corrupted treatments, in the order they are spread over the days. */
const CORRUPTIONS: readonly Corruption[] = [
  { features: { offset_vector_magnitude: 2.6 } },
  { features: { cp_gap_count: 3 } },
  { features: { gantry_out_of_range: 1 } },
  {
    features: { mu_extreme_high: 1, mu_planned: 412 },
    malicious: {
      probability: 0.83,
      indicators: [
        'meterset up 4 % a fraction over 6 fractions (Mann–Kendall p = 0.004)',
        'edited 23:40, outside clinic hours',
      ],
    },
  },
  { features: { offset_vector_magnitude: 1.9 } },
  { features: { mu_extreme_high: 1 } },
  { features: { cp_gap_count: 2, coll_range: 95 } },
  { features: { min_gap: -3.5 }, malicious: { probability: 0.12, indicators: [] } },
  { features: { a_std_pos: 13 } },
  { features: { gantry_out_of_range: 1, offset_vector_magnitude: 1.2 } },
];

/** `perDay` treatments a day over the `days` before `now`, every corrupted one among them. */
export function demoRecords(
  now: number,
  options: { days?: number; perDay?: number; seed?: number } = {},
): MemoryRecord[] {
  const days = options.days ?? 3;
  const perDay = options.perDay ?? 60;
  const rng = new Rng(options.seed ?? 19);
  const n = days * perDay;
  const start = now - days * 86_400_000;
  const every = Math.floor(n / CORRUPTIONS.length);
  const out: MemoryRecord[] = [];
  for (let i = 0; i < n; i++) {
    const patient = rng.integer(0, 40);
    const plan = SITES[patient % SITES.length]!;
    const field = plan.fields[rng.integer(0, plan.fields.length)]!;
    const features: Record<string, number> = {
      duration_seconds: Math.round(rng.uniform(35, 140)),
      mu_planned: Math.round(rng.uniform(30, 160)),
      offset_vector_magnitude: +rng.uniform(0.05, 0.5).toFixed(2),
      a_std_pos: +rng.uniform(0.4, 1.8).toFixed(2),
    };
    const corruption = i % every === every - 1 ? CORRUPTIONS[Math.floor(i / every)] : undefined;
    if (corruption) Object.assign(features, corruption.features);
    out.push({
      id: String(204_100 + i),
      patientId: `PAT-${String(10_230 + patient).padStart(6, '0')}`,
      // Clinic hours (07:00–19:00) spread over the days.
      occurredAt: Math.round(
        start +
          Math.floor(i / perDay) * 86_400_000 +
          7 * 3_600_000 +
          ((i % perDay) / perDay) * 12 * 3_600_000,
      ),
      features,
      labels: { machine: MACHINES[patient % MACHINES.length]!, site: plan.site, field },
      ...(corruption?.malicious !== undefined ? { malicious: corruption.malicious } : {}),
    });
  }
  return out;
}
