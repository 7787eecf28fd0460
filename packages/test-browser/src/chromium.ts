import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where a Chromium or Chrome is looked for when CHROMIUM_PATH is unset (Debian's package first). */
export const CHROMIUM_CANDIDATES: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome-stable',
  '/usr/bin/google-chrome',
];

/**
 * Launch flags: no sandbox (tests run as root in containers), no GPU, and nothing that reaches for
 * the network on its own (the machines reach only the npm registry and Debian's mirrors).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** No browser is available and none can be installed; the message says what to do. */
export class BrowserUnavailableError extends Error {
  override readonly name = 'BrowserUnavailableError';
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, command))) return join(dir, command);
  }
  return null;
}

/**
 * The Chromium to use: CHROMIUM_PATH when set (an error when nothing executable is there, so a
 * typo is not silently replaced by another browser), else the first of CHROMIUM_CANDIDATES that
 * exists, else null.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const configured = env.CHROMIUM_PATH?.trim();
  if (configured) {
    if (!isExecutableFile(configured))
      throw new BrowserUnavailableError(
        `CHROMIUM_PATH=${configured} is not an executable file: point it at a Chromium or Chrome binary, or unset it`,
      );
    return configured;
  }
  return CHROMIUM_CANDIDATES.find(isExecutableFile) ?? null;
}

/** Why Debian's chromium cannot be installed from here, or null when it can. */
export function whyNotInstallable(env: NodeJS.ProcessEnv = process.env): string | null {
  if (process.platform !== 'linux') return `this is ${process.platform}, not Debian or Ubuntu`;
  if (!onPath('apt-get', env)) return 'apt-get is not on PATH (not Debian or Ubuntu)';
  if (process.getuid?.() !== 0) return 'the tests do not run as root, and they never call sudo';
  return null;
}

export interface ProvisionOptions {
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

// One install at a time on a machine: test runs of several packages may start together.
const LOCK_FILE = join(tmpdir(), 'anomalia-chromium-install.lock');
// Another apt (a parallel install, unattended upgrades) holding dpkg's lock is waited for.
const APT = 'apt-get -o DPkg::Lock::Timeout=600 -qq';
const INSTALL_SCRIPT = `command -v chromium >/dev/null 2>&1 || { ${APT} update && ${APT} install -y --no-install-recommends chromium; }`;

/**
 * A Chromium executable, installing Debian's `chromium` with apt-get when none is found and the
 * process runs as root on Debian or Ubuntu (about a minute, once per machine). Otherwise a
 * BrowserUnavailableError that says how to get one.
 */
export function ensureChromium(options: ProvisionOptions = {}): string {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const found = findChromium();
  if (found) return found;
  const why = whyNotInstallable();
  if (why)
    throw new BrowserUnavailableError(
      `No Chromium found (CHROMIUM_PATH is unset; looked for ${CHROMIUM_CANDIDATES.join(', ')}), and it ` +
        `cannot be installed from here: ${why}. Install it (Debian/Ubuntu: sudo apt-get install -y chromium) ` +
        'or set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  log("No Chromium found: installing Debian's chromium with apt-get (once per machine, about a minute).");
  const started = performance.now();
  const lock = onPath('flock', process.env);
  const [command, args] = lock
    ? [lock, [LOCK_FILE, 'sh', '-c', INSTALL_SCRIPT]]
    : ['sh', ['-c', INSTALL_SCRIPT]];
  const result = spawnSync(command, args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new BrowserUnavailableError(
      `Installing Debian's chromium failed (${result.error?.message ?? `exit code ${result.status}`}); ` +
        `install it by hand (apt-get install -y chromium) or set CHROMIUM_PATH.\n${output}`,
    );
  }
  const installed = findChromium();
  if (!installed)
    throw new BrowserUnavailableError(
      `apt-get installed chromium but none of ${CHROMIUM_CANDIDATES.join(', ')} exists; set CHROMIUM_PATH`,
    );
  log(`Installed ${installed} in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  return installed;
}
