import { defineConfig } from 'tsup';

export default defineConfig({
  // cli.ts and recover.ts are the anomalia-import and anomalia-recover bins; monitor-store and testing are subpaths.
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli.ts',
    recover: 'src/recover.ts',
    'monitor-store/index': 'src/monitor-store/index.ts',
    'testing/index': 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Shared chunks, so every entry point shares one copy of the loader and connection helpers.
  splitting: true,
});
