import {
  type FitOptions,
  type FitSplit,
  type Matrix,
  NotFittedError,
  type Threshold,
  type ThresholdStrategy,
  ValidationError,
} from '@anomalia/core';
import type { NeuralDetector } from './neural-detector';

// biome-ignore lint/suspicious/noExplicitAny: any parameter type of a neural model
type AnyNeural = NeuralDetector<any>;

export interface EnsembleScores {
  /** Mean score (energy) over the members. */
  mean: Float64Array;
  /** Standard deviation of the members' scores. */
  std: Float64Array;
  /** 1 when most members flag the row (each at its own threshold). */
  vote: Uint8Array;
  /** Share of members agreeing with the majority vote (0.5–1; 1 = unanimous). */
  agreement: Float64Array;
  /** Each member's scores. */
  members: Float64Array[];
}

/**
 * K copies of a model trained with different seeds (deep ensemble): mean score, majority vote
 * and agreement. Members are trained one after another on the same data.
 */
export class Ensemble<M extends AnyNeural> {
  readonly members: M[];

  constructor(create: (seed: number) => M, options: { size?: number; seeds?: number[] } = {}) {
    const seeds = options.seeds ?? Array.from({ length: options.size ?? 5 }, (_, i) => i + 1);
    if (seeds.length < 2) throw new ValidationError('size', 'at least 2 members', seeds.length);
    this.members = seeds.map((s) => create(s));
  }

  async fit(X: Matrix, options: FitOptions = {}) {
    const reports = [];
    for (const m of this.members) reports.push(await m.fit(X, options));
    return reports;
  }

  /** Chooses each member's threshold with the same strategy on the same (non-test) split. */
  async fitThreshold(
    strategy: ThresholdStrategy,
    X: Matrix,
    options: { y?: ArrayLike<number>; split: FitSplit },
  ): Promise<Threshold[]> {
    const out = [];
    for (const m of this.members) out.push(await m.fitThreshold(strategy, X, options));
    return out;
  }

  async score(X: Matrix): Promise<Float64Array> {
    return (await this.scoreAll(X)).mean;
  }

  async scoreAll(X: Matrix): Promise<EnsembleScores> {
    const members = [];
    for (const m of this.members) members.push(await m.score(X));
    const K = members.length;
    const n = X.rows;
    const mean = new Float64Array(n);
    const std = new Float64Array(n);
    const vote = new Uint8Array(n);
    const agreement = new Float64Array(n);
    const thresholds = this.members.map((m) => m.threshold?.value);
    const canVote = thresholds.every((t) => t !== undefined);
    for (let i = 0; i < n; i++) {
      let s = 0;
      let flagged = 0;
      for (let k = 0; k < K; k++) {
        const v = members[k]![i]!;
        s += v;
        if (canVote && v > thresholds[k]!) flagged++;
      }
      const m = s / K;
      let v2 = 0;
      for (let k = 0; k < K; k++) v2 += (members[k]![i]! - m) ** 2;
      mean[i] = m;
      std[i] = Math.sqrt(v2 / K);
      vote[i] = flagged * 2 > K ? 1 : 0;
      agreement[i] = canVote ? Math.max(flagged, K - flagged) / K : Number.NaN;
    }
    return { mean, std, vote, agreement, members };
  }

  /** Majority vote of the members' predictions (each member needs a threshold). */
  async predict(X: Matrix): Promise<Uint8Array> {
    if (this.members.some((m) => !m.threshold)) {
      throw new NotFittedError('ensemble', 'every member needs a threshold (fitThreshold or contamination)');
    }
    return (await this.scoreAll(X)).vote;
  }

  /** Frees every member's weights on the TensorFlow.js backend. */
  releaseDevice(): void {
    for (const m of this.members) m.releaseDevice();
  }
}
