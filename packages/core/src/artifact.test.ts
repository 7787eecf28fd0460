import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  loadArtifact,
  manifestDigest,
  manifestSignature,
  parseArtifactWith,
  requireTensor,
  saveArtifact,
} from './artifact';
import { ArtifactKey } from './artifact-key';
import { ArtifactError } from './errors';
import { Matrix } from './matrix';
import { RobustScaler } from './scalers';
import { editManifest } from './testing/tamper';

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

describe('tampering with a manifest, and artifact signatures', () => {
  const X = new Matrix(4, 2, Float64Array.from([1, 10, 2, 20, 3, 30, 4, 45]));
  const scaled = () => ({
    ...content(),
    scaler: new RobustScaler().fit(X).toJSON(),
    threshold: {
      value: 0.5,
      strategy: { strategy: 'fixed' as const, value: 0.5 },
      split: 'none' as const,
      n: 0,
    },
    params: { k: 3, name: 'x', layerNorm: true },
  });
  const PROBES: [string, Parameters<typeof editManifest>[1]][] = [
    ['params.layerNorm: false', (m) => (m.params.layerNorm = false)],
    ['threshold.value: 5', (m) => (m.threshold.value = 5)],
    ['a scaler centre', (m) => (m.scaler.center[0] += 1)],
    ['a tensor shape', (m) => (m.tensors.idx.shape = [4, 1])],
  ];
  const key = ArtifactKey.from('k'.repeat(40), 'test key');
  const other = ArtifactKey.from('o'.repeat(40), 'other key');

  it('catches every probe of the issue by the digest', async () => {
    for (const [name, edit] of PROBES.slice(0, 3)) {
      await saveArtifact(dir, scaled(), { key: null });
      await editManifest(dir, edit);
      await expect(loadArtifact(dir, { key: null }), name).rejects.toMatchObject({
        file: 'manifest.json',
        field: 'digest',
      });
    }
  });

  it('with a key, catches every probe even when the digest was recomputed', async () => {
    for (const [name, edit] of PROBES) {
      await saveArtifact(dir, scaled(), { key });
      expect((await loadArtifact(dir, { key })).params.layerNorm).toBe(true);
      await editManifest(dir, edit, { redigest: true });
      await expect(loadArtifact(dir, { key }), name).rejects.toMatchObject({
        file: 'manifest.json',
        field: 'signature.value',
        message: expect.stringMatching(/signature mismatch: the manifest .* was changed after it was signed/),
      });
    }
    // Replaced weights with their new sha256 and size in the manifest, digest recomputed.
    await saveArtifact(dir, scaled(), { key });
    const weights = await readFile(join(dir, 'weights.bin'));
    weights[0] = weights[0]! ^ 0xff;
    await writeFile(join(dir, 'weights.bin'), weights);
    await editManifest(
      dir,
      (m) => (m.files['weights.bin'].sha256 = createHash('sha256').update(weights).digest('hex')),
      { redigest: true },
    );
    await expect(loadArtifact(dir, { key })).rejects.toMatchObject({ field: 'signature.value' });
    // Replacing the signature by a fresh one needs the key: with another, the key id differs.
    await saveArtifact(dir, scaled(), { key });
    await editManifest(
      dir,
      (m) => {
        m.threshold.value = 5;
        const { digest: _d, signature: _s, ...rest } = m;
        m.signature = manifestSignature(rest, other);
      },
      { redigest: true },
    );
    await expect(loadArtifact(dir, { key })).rejects.toMatchObject({ field: 'signature.keyId' });
  });

  it('refuses an unsigned artifact when a key is configured, and a signed one without the key', async () => {
    await saveArtifact(dir, scaled(), { key: null });
    await expect(loadArtifact(dir, { key })).rejects.toThrow(
      /manifest\.json: signature: missing: a signing key is configured \(test key, key [0-9a-f]{16}\), so only artifacts signed with it are loaded/,
    );
    // Stripping the signature of a signed artifact (and redigesting) is the same unsigned artifact.
    await saveArtifact(dir, scaled(), { key });
    await editManifest(dir, (m) => delete m.signature, { redigest: true });
    await expect(loadArtifact(dir, { key })).rejects.toMatchObject({ field: 'signature' });

    await saveArtifact(dir, scaled(), { key });
    await expect(loadArtifact(dir, { key: other })).rejects.toThrow(
      `signed with key ${key.id}, but the configured key (other key) is ${other.id}`,
    );
    await expect(loadArtifact(dir, { key: null })).rejects.toThrow(
      /the artifact is signed \(key [0-9a-f]{16}\) but no key is configured to verify it: set ANOMALIA_ARTIFACT_KEY or ANOMALIA_ARTIFACT_KEY_FILE/,
    );
    expect((await loadArtifact(dir, { key })).threshold?.value).toBe(0.5);
  });

  it('refuses prototype keys in a manifest, naming the field', async () => {
    await saveArtifact(dir, scaled(), { key: null });
    const path = join(dir, 'manifest.json');
    const text = await readFile(path, 'utf8');
    await writeFile(
      path,
      text.replace('"params": {', '"params": {\n    "__proto__": { "layerNorm": false },'),
    );
    await expect(loadArtifact(dir, { key: null })).rejects.toMatchObject({
      name: 'ArtifactError',
      file: 'manifest.json',
      field: 'params.__proto__',
    });
  });

  it('reads the key from the environment or a file, and never shows it', async () => {
    const secret = 'correct horse battery staple, 32 bytes at least';
    const saved = { ...process.env };
    try {
      delete process.env.ANOMALIA_ARTIFACT_KEY_FILE;
      process.env.ANOMALIA_ARTIFACT_KEY = secret;
      const manifest = await saveArtifact(dir, scaled());
      expect(manifest.signature?.keyId).toBe(ArtifactKey.from(secret).id);
      expect((await loadArtifact(dir)).kind).toBe('toy');

      const file = join(dir, 'key.txt');
      await writeFile(file, `${secret}\n`);
      delete process.env.ANOMALIA_ARTIFACT_KEY;
      process.env.ANOMALIA_ARTIFACT_KEY_FILE = file;
      expect((await loadArtifact(dir)).kind).toBe('toy');

      process.env.ANOMALIA_ARTIFACT_KEY = secret;
      expect(() => ArtifactKey.fromEnv()).toThrow(
        /ANOMALIA_ARTIFACT_KEY: expected to be unset when ANOMALIA_ARTIFACT_KEY_FILE is set/,
      );
      delete process.env.ANOMALIA_ARTIFACT_KEY_FILE;
      process.env.ANOMALIA_ARTIFACT_KEY = 'short secret';
      const short = await loadArtifact(dir).catch((e: Error) => e);
      expect(String(short)).toMatch(/ANOMALIA_ARTIFACT_KEY: expected a key of at least 32 bytes/);
      expect(String(short)).not.toContain('short secret');
    } finally {
      process.env = saved;
    }
    const k = ArtifactKey.from(secret);
    for (const shown of [
      String(k),
      JSON.stringify(k),
      inspect(k),
      inspect({ k }, { depth: 5, showHidden: true }),
    ]) {
      expect(shown).not.toContain(secret);
      expect(shown).toContain(k.id);
    }
    await saveArtifact(dir, scaled(), { key: k });
    const errors = await Promise.all([
      loadArtifact(dir, { key: ArtifactKey.from(`${secret}!`) }).catch((e: Error) => e),
      loadArtifact(dir, { key: null }).catch((e: Error) => e),
    ]);
    for (const e of errors) expect(`${e} ${JSON.stringify(e)}`).not.toContain(secret);
  });
});
