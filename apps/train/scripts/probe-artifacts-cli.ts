/**
 * Probe campaign, models and the train CLI: tampered artifacts of every model type, and hostile
 * `anomalia-train` flags. Prints one JSON line per probe family:
 *   { area, probe, tried, handled, dataChanged, notes }
 * For artifacts, handled: loading failed with an ArtifactError naming the file and the field;
 * dataChanged: a tampered artifact that loaded (a silently different model). For the CLI,
 * handled: exit code 2 with a message naming the key (no stack trace), Object.prototype intact,
 * no run folder left; dataChanged: a polluted prototype or a folder left behind.
 *
 *   pnpm --filter @anomalia/train build && tsx scripts/probe-artifacts-cli.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactError, ArtifactKey, type Detector, Matrix, Rng } from '@anomalia/core';
import { editManifest } from '@anomalia/core/testing';
import { applyOverride } from '../src/config/load';
import { REGISTRY } from '../src/registry';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'dist', 'cli.js');
const repo = resolve(here, '../../..');
const emit = (row: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(row)}\n`);
const dir = await mkdtemp(join(tmpdir(), 'anomalia-probe-train-'));
const key = ArtifactKey.from('probe key of at least thirty-two bytes!!');
const other = ArtifactKey.from('another key of at least thirty-two bytes');

// Small data: 6 features, a graded target, and token sequences.
const rng = new Rng(7);
const X = new Matrix(160, 6);
const y = new Float64Array(160);
for (let i = 0; i < 160; i++) {
  y[i] = i % 5 === 0 ? 2 : 0;
  for (let j = 0; j < 6; j++) X.set(i, j, rng.normal() + (y[i]! > 0 && j < 2 ? 3 : 0));
}
const sequences = Array.from({ length: 120 }, (_, i) =>
  Array.from({ length: 12 }, (_, k) => (i % 6 === 0 ? `z${(k * 7) % 5}` : `a${(i + k) % 4}`)),
);
const labels = Float64Array.from(sequences, (_, i) => (i % 6 === 0 ? 1 : 0));

type Edit = Parameters<typeof editManifest>[1];
interface ModelCase {
  type: keyof typeof REGISTRY;
  params: Record<string, unknown>;
  /** An edit of the params that changes what the saved weights mean. */
  architecture: [string, Edit];
}
const MODELS: ModelCase[] = [
  {
    type: 'ebm',
    params: { epochs: 3, hiddenLayers: [8, 4], scaler: 'robust' },
    architecture: ['params.layerNorm: false', (m) => (m.params.layerNorm = false)],
  },
  {
    type: 'autoencoder',
    params: { epochs: 3, hiddenLayers: [6, 3], scaler: 'standard' },
    architecture: ['params.hiddenLayers: [6, 2]', (m) => (m.params.hiddenLayers = [6, 2])],
  },
  {
    type: 'vae',
    params: { epochs: 3, scaler: 'minmax' },
    architecture: ['params.latent + 1', (m) => (m.params.latent = Number(m.params.latent) + 1)],
  },
  {
    type: 'isolation_forest',
    params: { nEstimators: 20, scaler: 'robust' },
    architecture: ['params.nEstimators: 25', (m) => (m.params.nEstimators = 25)],
  },
  {
    type: 'lof',
    params: { nNeighbors: 10, scaler: 'standard' },
    architecture: ['params.metric: manhattan', (m) => (m.params.metric = 'manhattan')],
  },
  {
    type: 'ocsvm',
    params: { nu: 0.1, scaler: 'minmax' },
    architecture: ['params.kernel: linear', (m) => (m.params.kernel = 'linear')],
  },
  {
    type: 'ngram',
    params: { mode: 'classifier', epochs: 2 },
    architecture: ['params.n: 5', (m) => (m.params.n = 5)],
  },
  {
    type: 'ngram',
    params: { mode: 'language-model', order: 3 },
    architecture: ['params.order: 5', (m) => (m.params.order = 5)],
  },
];

async function fitAndSave(c: ModelCase, path: string, k: ArtifactKey | null): Promise<void> {
  const entry = REGISTRY[c.type];
  if (entry.input === 'matrix') {
    const d = await entry.create(c.params, 1);
    await d.fit(X, { y });
    await d
      .fitThreshold({ strategy: 'contamination', contamination: 0.2 } as never, X, {
        split: 'validation',
      } as never)
      .catch(() => undefined);
    await d.save(path, { key: k });
  } else {
    const d = entry.create(c.params, 1) as Detector<string[][]>;
    await d.fit(sequences, { y: labels });
    await d.save(path, { key: k });
  }
}

async function loads(c: ModelCase, path: string): Promise<ArtifactError | null | Error> {
  try {
    await REGISTRY[c.type].load(path);
    return null;
  } catch (e) {
    return e as Error;
  }
}

const withEnvKey = async <T>(
  k: ArtifactKey | null,
  secret: string | null,
  fn: () => Promise<T>,
): Promise<T> => {
  const saved = process.env.ANOMALIA_ARTIFACT_KEY;
  if (secret === null) delete process.env.ANOMALIA_ARTIFACT_KEY;
  else process.env.ANOMALIA_ARTIFACT_KEY = secret;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.ANOMALIA_ARTIFACT_KEY;
    else process.env.ANOMALIA_ARTIFACT_KEY = saved;
    void k;
  }
};

const KEY_SECRET = 'probe key of at least thirty-two bytes!!';
const OTHER_SECRET = 'another key of at least thirty-two bytes';

async function artifactProbes(): Promise<void> {
  const families = {
    plain: { tried: 0, handled: 0, loaded: 0, notes: new Set<string>() },
    architecture: { tried: 0, handled: 0, loaded: 0, notes: new Set<string>() },
    keyed: { tried: 0, handled: 0, loaded: 0, notes: new Set<string>() },
    keyMisuse: { tried: 0, handled: 0, loaded: 0, notes: new Set<string>() },
    digestOnly: { tried: 0, handled: 0, loaded: 0, notes: new Set<string>() },
  };
  const record = (f: keyof typeof families, e: ArtifactError | Error | null, what: string) => {
    const fam = families[f];
    fam.tried++;
    if (e instanceof ArtifactError && e.file && e.field) fam.handled++;
    else {
      if (e === null) fam.loaded++;
      fam.notes.add(`${what}: ${e ? e.message.slice(0, 100) : 'loaded'}`);
    }
  };
  let n = 0;
  for (const c of MODELS) {
    const name = `${c.type}${c.params.mode ? `/${c.params.mode}` : ''}`;
    const fresh = async (k: ArtifactKey | null) => {
      const p = join(dir, `m${++n}`);
      await fitAndSave(c, p, k);
      return p;
    };
    const edits: [string, Edit][] = [
      [
        'threshold.value: 5',
        (m) => {
          m.threshold = {
            value: 5,
            strategy: { strategy: 'fixed', value: 5 },
            split: 'none',
            n: 0,
            ...(m.threshold ?? {}),
          };
          m.threshold.value = 5;
        },
      ],
      [
        'a scaler centre (or a metric when there is no scaler)',
        (m) => {
          if (m.scaler) m.scaler.center[0] += 1;
          else m.metrics.edited = 1;
        },
      ],
      c.architecture,
    ];
    await withEnvKey(null, null, async () => {
      // 1. Edits without recomputing the digest.
      for (const [what, edit] of edits) {
        const p = await fresh(null);
        await editManifest(p, edit);
        record('plain', await loads(c, p), `${name} ${what}`);
      }
      const p = await fresh(null);
      const w = readFileSync(join(p, 'weights.bin'));
      w[w.length - 1] = w[w.length - 1]! ^ 0xff;
      writeFileSync(join(p, 'weights.bin'), w);
      record('plain', await loads(c, p), `${name} weights byte`);
      // 2. Architecture edits with the digest recomputed, no key: weights vs params.
      const a = await fresh(null);
      await editManifest(a, c.architecture[1], { redigest: true });
      record('architecture', await loads(c, a), `${name} ${c.architecture[0]}`);
      // 4. Non-architecture edits with the digest recomputed and no key: only a key catches them.
      for (const [what, edit] of edits.slice(0, 2)) {
        const q = await fresh(null);
        await editManifest(q, edit, { redigest: true });
        record('digestOnly', await loads(c, q), `${name} ${what}`);
      }
    });
    // 3. Every edit with the digest recomputed, a key configured.
    await withEnvKey(key, KEY_SECRET, async () => {
      for (const [what, edit] of edits) {
        const p = await fresh(key);
        await editManifest(p, edit, { redigest: true });
        record('keyed', await loads(c, p), `${name} ${what}`);
      }
      const unsigned = await fresh(null);
      record('keyMisuse', await loads(c, unsigned), `${name} unsigned with a key configured`);
      const stripped = await fresh(key);
      await editManifest(stripped, (m) => delete m.signature, { redigest: true });
      record('keyMisuse', await loads(c, stripped), `${name} signature stripped`);
    });
    await withEnvKey(other, OTHER_SECRET, async () => {
      const signed = await fresh(key);
      record('keyMisuse', await loads(c, signed), `${name} signed with another key`);
    });
    await withEnvKey(null, null, async () => {
      const signed = await fresh(key);
      record('keyMisuse', await loads(c, signed), `${name} signed, no key configured`);
    });
  }
  const titles: Record<keyof typeof families, string> = {
    plain:
      'tampered artifacts, digest not recomputed (threshold.value, scaler centre, architecture param, a weights byte), 8 model types',
    architecture:
      'architecture params edited with the digest recomputed, no key (layerNorm, hiddenLayers, latent, nEstimators, metric, kernel, n, order)',
    keyed: 'any manifest edit with the digest recomputed, signing key configured',
    keyMisuse: 'unsigned / signature stripped / other key / signed without a key',
    digestOnly:
      'threshold or scaler edited with the digest recomputed, NO key configured (only a key can catch these)',
  };
  for (const [f, r] of Object.entries(families) as [
    keyof typeof families,
    (typeof families)[keyof typeof families],
  ][]) {
    emit({
      area: 'artifacts',
      probe: titles[f],
      tried: r.tried,
      handled: r.handled,
      dataChanged: r.loaded,
      notes: r.notes.size
        ? [...r.notes].slice(0, 3).join(' | ')
        : 'each an ArtifactError naming the file and the field',
    });
  }
}

function cliProbes(): void {
  const before = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
  const config = join(repo, 'configs', 'cardio-ocsvm.yaml');
  const flags: [string, RegExp][] = [
    ['__proto__.polluted=1', /--set __proto__\.polluted: "__proto__" is not a config key/],
    ['__proto__.toString=1', /--set __proto__\.toString: "__proto__" is not a config key/],
    ['constructor.prototype.x=1', /--set constructor\.prototype\.x: "constructor" is not a config key/],
    ['model.params.prototype=1', /"prototype" is not a config key/],
    ['model.params={__proto__: {nu: 2}}', /model\.params\.__proto__: expected an ordinary key/],
    ['model.params.nu=2', /cardio-ocsvm\.yaml: model\.params\.nu: expected a number ≤ 1, received 2/],
    ['model.params.bogus=1', /cardio-ocsvm\.yaml: model\.params\.bogus: expected no such key/],
    ['model.type=nope', /model\.type: expected (one of|a model type)/],
    ['seed=1.5', /seed: expected an integer/],
    ['name=../../etc', /name: expected letters, digits/],
    ['noequals', /--set: expected key=value/],
    ['a..b=1', /--set: bad key/],
  ];
  let handled = 0;
  const bad: string[] = [];
  for (const [flag, pattern] of flags) {
    const r = spawnSync(process.execPath, [CLI, '--config', config, '--set', flag, '--quiet'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const ok = r.status === 2 && pattern.test(r.stderr) && !/\n\s+at /.test(r.stderr);
    if (ok) handled++;
    else bad.push(`${flag} → ${r.status} ${r.stderr.slice(0, 120)}`);
    try {
      applyOverride({}, flag);
    } catch {
      // refused in-process too
    }
  }
  const after = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
  const leftOver = existsSync(join(dir, 'runs')) ? readdirSync(join(dir, 'runs')).length : 0;
  emit({
    area: 'train CLI',
    probe: 'hostile --set flags (prototype keys, bad and unknown model params, bad keys)',
    tried: flags.length,
    handled,
    dataChanged: (before === after ? 0 : 1) + leftOver,
    notes: bad.length
      ? bad.slice(0, 3).join(' | ')
      : 'exit 2, message names the file and key, no stack; Object.prototype intact; no run folder',
  });
  const failing = spawnSync(
    process.execPath,
    [CLI, '--config', config, '--set', `dataset.path=${join(dir, 'missing.csv')}`, '--quiet'],
    { cwd: dir, encoding: 'utf8' },
  );
  const left = existsSync(join(dir, 'runs')) ? readdirSync(join(dir, 'runs')) : [];
  emit({
    area: 'train CLI',
    probe: 'a run that fails after starting (missing dataset)',
    tried: 1,
    handled: failing.status !== 0 && /missing\.csv/.test(failing.stderr) ? 1 : 0,
    dataChanged: left.length,
    notes: `no empty runs/<time>-<name>/ left (${left.length} folders)`,
  });
}

try {
  await artifactProbes();
  cliProbes();
} finally {
  await rm(dir, { recursive: true, force: true });
}
