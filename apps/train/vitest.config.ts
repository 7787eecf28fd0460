import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Suites build clinics and train models in their hooks: slow on a loaded 2-core machine.
  test: { globalSetup: ['./src/testing/global-setup.ts'], hookTimeout: 300_000 },
});
