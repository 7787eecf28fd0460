import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ValidationError } from '@anomalia/core';
import * as tf from '@tensorflow/tfjs';

/** The TensorFlow.js backends this package can run on, fastest first. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

/** Environment variable that overrides the automatic choice (`wasm`, `cpu` or `tensorflow`). */
export const BACKEND_ENV = 'ANOMALIA_TFJS_BACKEND';

export interface BackendInfo {
  backend: BackendName;
  /** How it was chosen: an explicit option, the environment variable, or the automatic order. */
  source: 'option' | 'env' | 'auto';
  tfjsVersion: string;
}

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;
let pendingKey = '';

/** `require` from this module, working in both the ESM and the CJS bundle. */
function localRequire(): NodeRequire {
  return createRequire(import.meta.url);
}

/** Points the wasm backend at the .wasm files of the installed package, so it works offline. */
async function registerWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const main = localRequire().resolve('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(`${join(dirname(main), '/')}`);
}

/** Loads @tensorflow/tfjs-node when it is installed (an optional peer dependency). */
async function registerTensorflow(): Promise<void> {
  const name = '@tensorflow/tfjs-node';
  await import(/* @vite-ignore */ name);
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    if (name === 'tensorflow') await registerTensorflow();
    if (name === 'wasm') await registerWasm();
    const ok = await tf.setBackend(name);
    if (!ok) return false;
    await tf.ready();
    if (name === 'cpu') {
      // The cpu backend prints an advert for tfjs-node on its first write; we report the backend ourselves.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    }
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

function parseChoice(value: string, field: string): BackendChoice {
  if (value === 'auto' || (BACKENDS as readonly string[]).includes(value)) return value as BackendChoice;
  throw new ValidationError(field, `one of auto, ${BACKENDS.join(', ')}`, value);
}

/**
 * Initialises TensorFlow.js once per process and returns the backend in use. Order: the
 * `backend` option, else the ANOMALIA_TFJS_BACKEND environment variable, else automatic:
 * tfjs-node when installed, then wasm, then cpu. An explicitly requested backend that cannot
 * start is an error, never a silent fallback.
 */
export async function initBackend(backend?: BackendChoice): Promise<BackendInfo> {
  const env = process.env[BACKEND_ENV];
  let choice: BackendChoice = 'auto';
  let source: BackendInfo['source'] = 'auto';
  if (backend !== undefined) {
    choice = parseChoice(backend, 'backend');
    source = 'option';
  } else if (env) {
    choice = parseChoice(env, BACKEND_ENV);
    source = 'env';
  }
  const key = `${choice}`;
  if (current && (choice === 'auto' || current.backend === choice) && tf.getBackend() === current.backend) {
    return current;
  }
  if (pending && pendingKey === key) return pending;
  pendingKey = key;
  pending = (async () => {
    const order = choice === 'auto' ? BACKENDS : [choice];
    for (const name of order) {
      if (await tryBackend(name)) {
        current = { backend: name, source, tfjsVersion: tf.version_core };
        return current;
      }
    }
    throw new ValidationError(
      source === 'env' ? BACKEND_ENV : 'backend',
      choice === 'tensorflow'
        ? 'an installed @tensorflow/tfjs-node (pnpm add @tensorflow/tfjs-node), or wasm / cpu'
        : 'a TensorFlow.js backend that can start',
      choice,
    );
  })();
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

/** The backend currently in use, or null before `initBackend`. */
export function currentBackend(): BackendInfo | null {
  return current;
}

export { tf };
