import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mosaiqScale } from '../src/mosaiq';
import {
  normalizeMarkdown,
  README_PATH,
  renderCatalogueTable,
  replaceTable,
  tableSection,
} from './catalogue-table';

describe('README catalogue table', () => {
  it('matches the Mosaiq catalogue (run `pnpm docs:catalogue` to regenerate)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(normalizeMarkdown(tableSection(readme))).toBe(
      normalizeMarkdown(renderCatalogueTable(mosaiqScale)),
    );
  });

  it('compares tables independently of column padding, but not of content', () => {
    const padded = '| a   | b |\n| --- | - |\n| 1.5 | x \\| y |';
    expect(normalizeMarkdown(padded)).toBe('|a|b|\n|---|---|\n|1.5|x \\| y|');
    expect(normalizeMarkdown('| 1.5 | x |')).not.toBe(normalizeMarkdown('| 1.6 | x |'));
  });

  it('has one row per base and per variant', () => {
    const rows = renderCatalogueTable(mosaiqScale)
      .split('\n')
      .filter((l) => l.startsWith('| `') || l.startsWith('| ↳'));
    expect(rows).toHaveLength(20 + 72);
  });

  it('refuses a README without markers', () => {
    expect(() => replaceTable('# nothing', 'x')).toThrow(/must contain/);
    expect(() => tableSection('# nothing')).toThrow(/must contain/);
  });
});
