import { Rng, ValidationError } from '@anomalia/core';
import type { LabelledSequence } from './ngram-classifier';

/** The seed's example behaviours: three-action patterns an agent repeats in normal operation. */
export const NORMAL_PATTERNS: readonly (readonly string[])[] = [
  ['read', 'process', 'write'],
  ['fetch', 'transform', 'load'],
  ['query', 'filter', 'aggregate'],
  ['request', 'authenticate', 'respond'],
  ['open', 'read', 'close'],
  ['connect', 'send', 'receive'],
  ['login', 'browse', 'logout'],
  ['validate', 'compute', 'store'],
];

/** The seed's suspicious behaviours. */
export const ANOMALOUS_PATTERNS: readonly (readonly string[])[] = [
  ['delete', 'exfiltrate', 'cover_tracks'],
  ['escalate', 'access', 'exfiltrate'],
  ['scan', 'exploit', 'inject'],
  ['brute_force', 'access', 'modify'],
  ['disable_logging', 'delete', 'exfiltrate'],
  ['enumerate', 'escalate', 'persist'],
  ['download', 'execute', 'beacon'],
  ['tamper', 'encrypt', 'ransom'],
];

export type AnomalyKind = 'injected' | 'burst' | 'reordered';

export interface SyntheticOptions {
  seed?: number;
  /** Fraction of anomalous samples (the seed suggests 20–40 %). */
  anomalyRatio?: number;
  /** Normal patterns per sequence, inclusive range. */
  minPatterns?: number;
  maxPatterns?: number;
  /** Probability that a token of a normal pattern is replaced by another normal action. */
  noise?: number;
}

export interface SyntheticSample extends LabelledSequence {
  /** For anomalies, how the sequence was made anomalous. */
  kind: 'normal' | AnomalyKind;
}

/**
 * Labelled normal / anomalous sequences like the seed's examples, made harder than the original
 * generator (whose 3-token patterns give 100 % accuracy) so that every signal matters:
 * - normal: 1–4 normal patterns in a row, with token noise;
 * - injected: a normal background with one anomalous pattern inserted (n-gram and frequency signals);
 * - burst: one normal action repeated 5–12 times inside a normal background (entropy, diversity);
 * - reordered: normal patterns with their actions reversed (only the n-gram signal sees it).
 */
export function generateSyntheticSamples(count: number, options: SyntheticOptions = {}): SyntheticSample[] {
  const { seed = 42, anomalyRatio = 0.3, minPatterns = 1, maxPatterns = 4, noise = 0.05 } = options;
  if (!Number.isInteger(count) || count < 0)
    throw new ValidationError('count', 'a non-negative integer', count);
  if (!(anomalyRatio >= 0 && anomalyRatio <= 1))
    throw new ValidationError('anomalyRatio', 'a fraction in [0, 1]', anomalyRatio);
  if (!Number.isInteger(minPatterns) || minPatterns < 1)
    throw new ValidationError('minPatterns', 'an integer ≥ 1', minPatterns);
  if (!Number.isInteger(maxPatterns) || maxPatterns < minPatterns)
    throw new ValidationError('maxPatterns', `an integer ≥ minPatterns (${minPatterns})`, maxPatterns);
  if (!(noise >= 0 && noise <= 1)) throw new ValidationError('noise', 'a probability in [0, 1]', noise);
  const rng = new Rng(seed);
  const normalActions = [...new Set(NORMAL_PATTERNS.flat())];
  const pick = <T>(items: readonly T[]): T => items[rng.integer(0, items.length)]!;
  const background = (min: number): string[] => {
    const out: string[] = [];
    const k = rng.integer(min, maxPatterns + 1);
    for (let p = 0; p < k; p++)
      for (const t of pick(NORMAL_PATTERNS)) out.push(rng.random() < noise ? pick(normalActions) : t);
    return out;
  };
  const samples: SyntheticSample[] = [];
  const kinds: AnomalyKind[] = ['injected', 'burst', 'reordered'];
  const nAnomalous = Math.round(count * anomalyRatio);
  for (let i = 0; i < count; i++) {
    if (i >= nAnomalous) {
      samples.push({ sequence: background(minPatterns), label: 0, kind: 'normal' });
      continue;
    }
    const kind = kinds[i % kinds.length]!;
    let sequence: string[];
    if (kind === 'injected') {
      sequence = background(Math.max(0, minPatterns - 1));
      sequence.splice(rng.integer(0, sequence.length + 1), 0, ...pick(ANOMALOUS_PATTERNS));
    } else if (kind === 'burst') {
      sequence = background(minPatterns);
      const action = pick(normalActions);
      sequence.splice(rng.integer(0, sequence.length + 1), 0, ...Array(rng.integer(5, 13)).fill(action));
    } else {
      sequence = [];
      const k = rng.integer(Math.max(minPatterns, 2), maxPatterns + 1);
      for (let p = 0; p < k; p++) {
        // Reversed order: the same actions, in an order normal runs never produce.
        sequence.push(...[...pick(NORMAL_PATTERNS)].reverse());
      }
    }
    samples.push({ sequence, label: 1, kind });
  }
  return rng.shuffle(samples);
}
