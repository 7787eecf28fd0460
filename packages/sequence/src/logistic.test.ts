import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { fitLogistic, logit, sigmoid } from './logistic';

describe('fitLogistic', () => {
  it('recovers the coefficients of a logistic model from its samples', () => {
    const rng = new Rng(5);
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const x = [rng.normal(), rng.uniform(0, 1)];
      rows.push(x);
      y.push(rng.random() < sigmoid(-1 + 2 * x[0]! + 3 * x[1]!) ? 1 : 0);
    }
    const { model, history } = fitLogistic(rows, y, {
      epochs: 30,
      batchSize: 64,
      learningRate: 0.05,
      l2: 0,
      seed: 1,
    });
    expect(model.weights[0]).toBeCloseTo(2, 0);
    expect(model.weights[1]).toBeCloseTo(3, 0);
    expect(model.bias).toBeCloseTo(-1, 0);
    // The fitted model's log-loss is as low as that of the true coefficients (up to SGD noise).
    const loss = (w0: number, w1: number, b: number) =>
      rows.reduce((acc, x, i) => {
        const p = sigmoid(b + w0 * x[0]! + w1 * x[1]!);
        return acc - (y[i] ? Math.log(p) : Math.log(1 - p));
      }, 0) / rows.length;
    expect(history.at(-1)!.loss).toBeLessThan(loss(2, 3, -1) + 0.002);
    expect(logit(model, [0, 0])).toBe(model.bias);
  });
  it('rejects bad options', () => {
    expect(() =>
      fitLogistic([[1]], [1], { epochs: 0, batchSize: 1, learningRate: 0.1, l2: 0, seed: 1 }),
    ).toThrow(/epochs/);
    expect(() => fitLogistic([], [], { epochs: 1, batchSize: 1, learningRate: 0.1, l2: 0, seed: 1 })).toThrow(
      /rows/,
    );
  });
});
