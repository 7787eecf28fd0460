import { readFileSync } from 'node:fs';
import { formatWithOptions } from 'node:util';
import { expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');

it('the README example is scripts/readme-example.ts and prints what the README says', async () => {
  const section = readme.slice(readme.indexOf('## Example'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  expect(code).toBe(example.replace("'../src/index'", "'@anomalia/failure-modes'"));
  const printed = /prints\n\n```\n([\s\S]*?)```/.exec(section)![1]!.trimEnd();
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(formatWithOptions({ breakLength: Number.POSITIVE_INFINITY }, ...args));
  });
  try {
    await import('./readme-example');
  } finally {
    spy.mockRestore();
  }
  expect(lines.join('\n')).toBe(printed);
});
