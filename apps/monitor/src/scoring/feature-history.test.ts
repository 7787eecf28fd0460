import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { featureHistoryDays } from './parts';

const minimal = {
  source: { database: { type: 'sqlite', path: 'clinic.sqlite' } },
  model: { dir: 'models/current/mosaiq-ebm' },
};

describe('the history the model’s features see as context', () => {
  it('is a month by default: course features come from the course watch’s tracker, not from it', () => {
    expect(featureHistoryDays(parseConfig(minimal))).toBe(30);
    // The course window is the course watch's own setting; it does not widen the features' context.
    const longer = parseConfig({ ...minimal, scoring: { longitudinal: { historyDays: 200 } } });
    expect(featureHistoryDays(longer)).toBe(30);
  });

  it('takes model.historyDays when it is set', () => {
    const config = parseConfig({ ...minimal, model: { ...minimal.model, historyDays: 45 } });
    expect(featureHistoryDays(config)).toBe(45);
  });
});
