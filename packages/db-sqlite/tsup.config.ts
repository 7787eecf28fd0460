import { defineConfig } from 'tsup';

export default defineConfig({
  // cli.ts and recover.ts are the anomalia-import and anomalia-recover bins; monitor-store and testing are
  // subpaths; reader-thread-worker is the thread openThreadedTreatmentReader starts (found next to the code
  // that starts it, so it stays at the root of dist like the shared chunks).
  entry: {
    index: 'src/index.ts',
    'reader-thread-worker': 'src/reader-thread-worker.ts',
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
  // import.meta.url in the CJS build too (the reader thread locates its entry file with it).
  shims: true,
});
