import { exampleRecord } from '@anomalia/mosaiq/synthetic';
import { describe, expect, it } from 'vitest';
import { QA74_FEATURE_NAMES } from './definitions';
import { toDataset, withMissingIndicators } from './feature-matrix';
import { FEATURE_SETS, getFeatureSet } from './feature-sets';

describe('feature sets', () => {
  it('are found by name; an unknown name lists the known ones', () => {
    expect(getFeatureSet('qa74').features.map((f) => f.name)).toEqual([...QA74_FEATURE_NAMES]);
    expect(getFeatureSet('qa74-cohort').features.length).toBeGreaterThan(74);
    expect(() => getFeatureSet('qa72')).toThrow(/featureSet: expected one of qa74, qa74-cohort/);
  });

  it('extract matrices whose names match their definitions', () => {
    for (const set of Object.values(FEATURE_SETS)) {
      const fm = set.extract([exampleRecord()], { asOf: 0 });
      expect(fm.featureNames).toEqual(set.features.map((f) => f.name));
      expect(fm.X.cols).toBe(set.features.length);
    }
  });
});

describe('missing indicators', () => {
  const clean = exampleRecord();
  const fm = FEATURE_SETS.qa74.extract([clean, { ...clean, offset: null, sessionOffsets: [] }], { asOf: 0 });

  it('append one column per feature that was missing somewhere', () => {
    const ds = withMissingIndicators(fm);
    expect(ds.featureNames.slice(74)).toEqual([
      'offset_superior__missing',
      'offset_anterior__missing',
      'offset_lateral__missing',
      'offset_vector_magnitude__missing',
      'superior_extreme__missing',
      'anterior_extreme__missing',
      'lateral_extreme__missing',
      'vector_extreme__missing',
      'offset_critical__missing',
      'type_valid__missing',
      'state_valid__missing',
      'type_third_party__missing',
    ]);
    expect(Array.from(ds.X.getColumn(74))).toEqual([0, 1]);
    const fixed = withMissingIndicators(fm, ['mu_planned']);
    expect(fixed.featureNames.at(-1)).toBe('mu_planned__missing');
    expect(() => withMissingIndicators(fm, ['nope'])).toThrow(/features\[0\]/);
  });

  it('toDataset checks labels', () => {
    expect(toDataset(fm).featureNames).toHaveLength(74);
    expect(() => toDataset(fm, new Float64Array(3))).toThrow(/y\.length/);
  });
});
