import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'synthetic/index': 'src/synthetic/index.ts',
    'testing/index': 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Shared chunks, so the subpaths and `@anomalia/mosaiq` share one copy of the tables and one class per error.
  splitting: true,
});
