import { defineConfig } from 'tsup';

export default defineConfig({
  // cli.ts is the anomalia-import bin (dist/cli.js).
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
