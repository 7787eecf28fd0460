import { createHash } from 'node:crypto';
import type { WasmModule } from './module';

/** For the users' tests: each module's SHA-256 (hex) by module name, to pin against golden values. */
export function moduleDigests(modules: readonly WasmModule<unknown>[]): Record<string, string> {
  return Object.fromEntries(
    modules.map((m) => [m.name, createHash('sha256').update(m.bytes()).digest('hex')]),
  );
}
