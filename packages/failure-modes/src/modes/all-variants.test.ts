import { describe, it } from 'vitest';
import { ACCIDENTAL_FAILURE_MODES } from '../catalogue';
import { expectVariantWorks } from '../test-support/harness';

describe.each(ACCIDENTAL_FAILURE_MODES.map((m) => [m.id, m] as const))('%s', (_id, mode) => {
  it.each(mode.variants.map((v) => v.id))('%s', (variant) => {
    expectVariantWorks(mode.id, variant);
  });
});
