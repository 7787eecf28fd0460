import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The private WebAssembly toolkit is bundled in: the published package does not depend on it.
  noExternal: ['@anomalia/wasm-kit'],
});
