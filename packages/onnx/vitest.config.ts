import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Training runs on a shared 2-core machine: generous per-test time, small models.
    testTimeout: 120_000,
  },
});
