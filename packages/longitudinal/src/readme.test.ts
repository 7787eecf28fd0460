import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../scripts/example.ts', import.meta.url), 'utf8');

describe('README', () => {
  it('shows scripts/example.ts, with the package name in the import', () => {
    const block = /## Example\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(block).toBe(example.replace("from '../src/index'", "from '@anomalia/longitudinal'"));
  });

  it('runs the example and prints what the README says', async () => {
    const logs: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => logs.push(args);
    try {
      await import('../scripts/example');
    } finally {
      console.log = log;
    }
    expect(logs[0]).toEqual(['increasing', true, '0.34']);
    expect(logs[1]).toEqual(['CUSUM fired at fraction', 14]);
    expect(logs[2]).toEqual([true, true]);
    expect(logs[3]![0]).toMatchObject({
      status: 'insufficient-data',
      reason: 'insufficient data: need ≥ 3 values, got 2',
    });
    expect(logs[4]).toEqual([[0], null]);
    expect(logs[5]![0]).toMatch(/Benford's law does not apply/);
  });
});
