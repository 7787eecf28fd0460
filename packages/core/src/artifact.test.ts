import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadArtifact, manifestDigest, parseArtifactWith, requireTensor, saveArtifact } from './artifact';
import { ArtifactError } from './errors';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anomalia-artifact-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const content = () => ({
  kind: 'toy',
  params: { k: 3, name: 'x' },
  featureNames: ['a', 'b'],
  metrics: { auc: 0.9 },
  state: { layers: [2, 1] },
  tensors: {
    w: { data: Float32Array.from([1.5, -2, 3]), shape: [3] },
    idx: { data: Int32Array.from([7, 8, 9, 10]), shape: [2, 2] },
    d: { data: Float64Array.from([Math.PI]) },
  },
  files: { 'notes.txt': 'hello' },
});

describe('artifacts', () => {
  it('round-trips manifest fields, typed tensors and extra files', async () => {
    await saveArtifact(dir, content());
    const a = await loadArtifact(dir, { kind: 'toy' });
    expect(a.params).toEqual({ k: 3, name: 'x' });
    expect(a.featureNames).toEqual(['a', 'b']);
    expect(Array.from(requireTensor(a, 'w', 'float32', 3))).toEqual([1.5, -2, 3]);
    expect(a.tensors.idx!.shape).toEqual([2, 2]);
    expect(requireTensor(a, 'd', 'float64')[0]).toBe(Math.PI);
    expect(new TextDecoder().decode(a.files['notes.txt'])).toBe('hello');
    expect(() => requireTensor(a, 'w', 'float64')).toThrow(/tensors\.w\.dtype/);
    expect(() => requireTensor(a, 'missing', 'float64')).toThrow(/tensors\.missing/);
  });

  it('names the file and field of a truncated weights file', async () => {
    await saveArtifact(dir, content());
    await truncate(join(dir, 'weights.bin'), 10);
    await expect(loadArtifact(dir)).rejects.toMatchObject({
      name: 'ArtifactError',
      file: 'weights.bin',
      field: 'files.weights.bin.bytes',
    });
  });

  it('detects a tampered file by its checksum', async () => {
    await saveArtifact(dir, content());
    const bytes = await readFile(join(dir, 'weights.bin'));
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(join(dir, 'weights.bin'), bytes);
    await expect(loadArtifact(dir)).rejects.toMatchObject({
      file: 'weights.bin',
      field: 'files.weights.bin.sha256',
    });
  });

  it('rejects a mismatched kind, a bad manifest and a missing directory', async () => {
    await saveArtifact(dir, content());
    await expect(loadArtifact(dir, { kind: 'isolation-forest' })).rejects.toMatchObject({
      file: 'manifest.json',
      field: 'kind',
    });
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    m.formatVersion = 99;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
    await expect(loadArtifact(dir)).rejects.toMatchObject({ file: 'manifest.json', field: 'formatVersion' });
    m.formatVersion = 1;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
    await expect(loadArtifact(dir)).rejects.toThrow(
      /formatVersion: expected 2, found 1: .*without a manifest digest/,
    );
    m.formatVersion = 2;
    // A consistent digest over an impossible manifest: caught by the checks behind the digest.
    m.tensors.w.offset = 1_000_000;
    m.digest = manifestDigest(m);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
    await expect(loadArtifact(dir)).rejects.toMatchObject({ file: 'weights.bin', field: 'tensors.w' });
    await writeFile(join(dir, 'manifest.json'), '{ not json');
    await expect(loadArtifact(dir)).rejects.toMatchObject({ field: '(json)' });
    await expect(loadArtifact(join(dir, 'nope'))).rejects.toBeInstanceOf(ArtifactError);
  });

  it('detects an edited manifest field by the manifest digest', async () => {
    await saveArtifact(dir, {
      ...content(),
      threshold: { value: 0.5, strategy: { strategy: 'fixed', value: 0.5 }, split: 'none', n: 0 },
    });
    const text = await readFile(join(dir, 'manifest.json'), 'utf8');
    expect((await loadArtifact(dir)).threshold?.value).toBe(0.5);
    const m = JSON.parse(text);
    m.threshold.value = 0.9;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
    await expect(loadArtifact(dir)).rejects.toMatchObject({ file: 'manifest.json', field: 'digest' });
    // Re-formatting the JSON (whitespace) is not an edit.
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(JSON.parse(text)));
    expect((await loadArtifact(dir)).params).toEqual({ k: 3, name: 'x' });
  });

  it('parseArtifactWith turns a schema failure into an ArtifactError naming the file and field', () => {
    const schema = z.object({ vocabulary: z.array(z.string()) });
    expect(parseArtifactWith(schema, { vocabulary: ['a'] }, 'manifest.json', 'state')).toEqual({
      vocabulary: ['a'],
    });
    let error: unknown;
    try {
      parseArtifactWith(schema, { vocabulary: ['a', 3] }, 'manifest.json', 'state');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error).toMatchObject({ file: 'manifest.json', field: 'state.vocabulary[1]' });
    expect((error as Error).message).toBe(
      'manifest.json: state.vocabulary[1]: expected a string, received 3',
    );
  });

  it('refuses file names that escape the directory and non-finite JSON numbers', async () => {
    await expect(
      saveArtifact(dir, { kind: 'toy', params: {}, files: { '../evil': 'x' } }),
    ).rejects.toBeInstanceOf(ArtifactError);
    await expect(saveArtifact(dir, { kind: 'toy', params: { t: Number.NaN } })).rejects.toThrow(/non-finite/);
    await expect(
      saveArtifact(dir, {
        kind: 'toy',
        params: {},
        tensors: { w: { data: new Float32Array(3), shape: [2, 2] } },
      }),
    ).rejects.toThrow(/tensors\.w\.shape/);
  });
});
