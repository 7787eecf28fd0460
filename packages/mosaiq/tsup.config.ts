import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'synthetic/index': 'src/synthetic/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Shared chunks, so `@anomalia/mosaiq/synthetic` and `@anomalia/mosaiq` share one copy of the tables.
  splitting: true,
});
