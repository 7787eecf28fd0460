import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { failureCatalogue } from '../src/index';
import { README_PATH, renderModesTable, replaceTable, tableSection } from './modes-table';

describe('README modes table', () => {
  it('matches the catalogue (run `pnpm docs:modes` to regenerate)', () => {
    expect(tableSection(readFileSync(README_PATH, 'utf8'))).toBe(renderModesTable(failureCatalogue));
  });

  it('has one row per mode and per variant', () => {
    const rows = renderModesTable(failureCatalogue)
      .split('\n')
      .filter((l) => l.startsWith('| **') || l.startsWith('| ↳'));
    expect(rows).toHaveLength(10 + 32 + 10 + 40);
    expect(renderModesTable(failureCatalogue)).toContain('| evidence that reveals it |');
  });

  it('refuses a README without markers', () => {
    expect(() => replaceTable('# nothing', 'x')).toThrow(/must contain/);
    expect(() => tableSection('# nothing')).toThrow(/must contain/);
  });
});
