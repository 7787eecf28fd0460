import { describe, expect, it } from 'vitest';
import { MODEL_TYPES } from './config/schema';
import { REGISTRY } from './registry';

describe('model registry', () => {
  it('has an entry for every model type, creating a detector with default parameters', () => {
    for (const type of MODEL_TYPES) {
      const entry = REGISTRY[type];
      expect(entry, type).toBeDefined();
      if (entry.input === 'matrix') {
        const d = entry.create({}, 3);
        expect(d.isFitted).toBe(false);
        if ('seed' in d.params) expect(d.params.seed).toBe(3);
      }
    }
  });

  it('validates model parameters with the model schema, naming the parameter', () => {
    const entry = REGISTRY.isolation_forest;
    if (entry.input !== 'matrix') throw new Error('expected a matrix model');
    expect(() => entry.create({ nEstimators: -1 }, 0)).toThrow(/params\.nEstimators/);
  });
});
