import { defineConfig } from 'tsup';

export default defineConfig({
  // `@anomalia/severity/mosaiq` is a subpath, so the main entry carries no domain catalogue.
  entry: { index: 'src/index.ts', mosaiq: 'src/mosaiq.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Shared chunks, so both entries use one SeverityValidationError and one set of defined catalogues.
  splitting: true,
});
