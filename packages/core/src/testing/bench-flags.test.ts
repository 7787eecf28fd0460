import { describe, expect, it } from 'vitest';
import { positiveIntegerFlag } from './bench-flags';

describe('positiveIntegerFlag', () => {
  it('reads --name N, falls back when absent, and names the flag of a bad value', () => {
    const argv = ['node', 'bench.ts', '--records', '5000', '--batch', '0', '--seed', 'x'];
    expect(positiveIntegerFlag('records', 100, argv)).toBe(5000);
    expect(positiveIntegerFlag('batches', 10, argv)).toBe(10);
    expect(() => positiveIntegerFlag('batch', 10, argv)).toThrow(
      '--batch: expected a positive integer, got 0',
    );
    expect(() => positiveIntegerFlag('seed', 1, argv)).toThrow('--seed: expected a positive integer, got x');
  });
});
