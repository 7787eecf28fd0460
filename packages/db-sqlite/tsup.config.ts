import { defineConfig } from 'tsup';

export default defineConfig({
  // cli.ts is the anomalia-import bin (dist/cli.js); monitor-store is its own subpath.
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli.ts',
    'monitor-store/index': 'src/monitor-store/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Shared chunks, so both entry points share one copy of the connection helpers.
  splitting: true,
});
