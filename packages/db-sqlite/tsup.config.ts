import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'monitor-store/index': 'src/monitor-store/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Shared chunks, so both entry points share one copy of the connection helpers.
  splitting: true,
});
