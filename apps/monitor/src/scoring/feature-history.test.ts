import { FEATURE_SETS } from '@anomalia/features';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { featureHistoryDays } from './parts';

const minimal = {
  source: { database: { type: 'sqlite', path: 'clinic.sqlite' } },
  model: { dir: 'models/current/mosaiq-ebm' },
};

describe('the history the model’s features see', () => {
  it('spans a course for course features, as training computed them, and a month otherwise', () => {
    const config = parseConfig(minimal);
    expect(featureHistoryDays(config, FEATURE_SETS['qa74-longitudinal'])).toBe(120);
    expect(featureHistoryDays(config, FEATURE_SETS['qa74-cohort'])).toBe(30);
    expect(featureHistoryDays(config, FEATURE_SETS.qa74)).toBe(30);
    // The course window follows the longitudinal checks' setting.
    const longer = parseConfig({ ...minimal, scoring: { longitudinal: { historyDays: 200 } } });
    expect(featureHistoryDays(longer, FEATURE_SETS['qa74-longitudinal'])).toBe(200);
  });

  it('takes model.historyDays when it is set', () => {
    const config = parseConfig({ ...minimal, model: { ...minimal.model, historyDays: 45 } });
    expect(featureHistoryDays(config, FEATURE_SETS['qa74-longitudinal'])).toBe(45);
    expect(featureHistoryDays(config, FEATURE_SETS['qa74-cohort'])).toBe(45);
  });
});
