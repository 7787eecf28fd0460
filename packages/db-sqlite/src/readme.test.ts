import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../scripts/example.ts', import.meta.url), 'utf8');

describe('README', () => {
  it('shows scripts/example.ts, with the package name in the import', () => {
    const block = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(block).toBe(example.replace("from '../src/index'", "from '@anomalia/db-sqlite'"));
  });

  it('runs the example', async () => {
    const logs: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => logs.push(args);
    try {
      await import('../scripts/example');
    } finally {
      console.log = log;
    }
    expect(logs[1]).toEqual([500, 74]);
    expect(logs[2]![0]).toBe('run-1');
    expect(logs[3]).toEqual([true]);
  });
});
