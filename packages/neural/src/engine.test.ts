import { ValidationError } from '@anomalia/core';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKEND_ENV, initBackend, tf } from './engine';

describe('backend selection', () => {
  afterEach(() => {
    delete process.env[BACKEND_ENV];
  });

  it('picks wasm automatically when tfjs-node is not installed, and reports it', async () => {
    const info = await initBackend('auto');
    expect(['tensorflow', 'wasm']).toContain(info.backend);
    expect(info.tfjsVersion).toMatch(/^4\./);
  });

  it('honours an explicit option, then the environment variable', async () => {
    expect((await initBackend('cpu')).backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    process.env[BACKEND_ENV] = 'wasm';
    const info = await initBackend();
    expect(info).toMatchObject({ backend: 'wasm', source: 'env' });
    expect((await initBackend('cpu')).source).toBe('option');
  });

  it('rejects an unknown backend name, naming where it came from', async () => {
    process.env[BACKEND_ENV] = 'gpu';
    await expect(initBackend()).rejects.toMatchObject({ field: BACKEND_ENV });
    await expect(initBackend('webgl' as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('fails clearly (no silent fallback) when tfjs-node is requested but not installed', async () => {
    let installed = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      installed = false;
    }
    if (installed) return;
    await expect(initBackend('tensorflow')).rejects.toThrow(/tfjs-node/);
  });
});
