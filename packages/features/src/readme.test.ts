import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QA74_FEATURES } from './definitions';
import { QA_LONGITUDINAL_FEATURES } from './longitudinal/extract';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = [...readme.matchAll(/^\| (\d+) \| `(\w+)` \| (\w+) \| (\S+) \|/gm)].map((m) => ({
    index: Number(m[1]),
    name: m[2],
    category: m[3],
    unit: m[4],
  }));

  it('documents every feature in order, with its category and unit', () => {
    expect(rows).toEqual(
      QA_LONGITUDINAL_FEATURES.map((f, index) => ({
        index,
        name: f.name,
        category: f.category,
        unit: f.unit,
      })),
    );
    expect(rows.slice(0, 74).map((r) => r.name)).toEqual(QA74_FEATURES.map((f) => f.name));
  });
});
