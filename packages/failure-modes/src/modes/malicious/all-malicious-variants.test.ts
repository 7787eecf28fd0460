import { describe, it } from 'vitest';
import { MALICIOUS_FAILURE_MODES } from '../../catalogue';
import { expectMaliciousVariantWorks } from '../../test-support/course-harness';

describe.each(MALICIOUS_FAILURE_MODES.map((m) => [m.id, m] as const))('%s', (_id, mode) => {
  it.each(mode.variants.map((v) => v.id))('%s', (variant) => {
    expectMaliciousVariantWorks(mode.id, variant);
  });
});
