import { describe, expect, it } from 'vitest';
import { ArtifactError } from '../errors';
import { refusedLoad } from './tamper';

describe('refusedLoad', () => {
  it('gives back the ArtifactError a load rejects with', async () => {
    const error = new ArtifactError('manifest.json', 'params.order', 'expected 3');
    await expect(refusedLoad(Promise.reject(error))).resolves.toBe(error);
  });

  it('fails when the load succeeds or fails with anything else', async () => {
    await expect(refusedLoad(Promise.resolve({}))).rejects.toThrow(/it succeeded/);
    await expect(refusedLoad(Promise.reject(new RangeError('bad')))).rejects.toThrow(
      /expected an ArtifactError, got RangeError: bad/,
    );
  });
});
