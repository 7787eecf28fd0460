#!/usr/bin/env node
/**
 * The hardening probe campaign (issue 13): runs the three probe scripts — crashes
 * (packages/db-sqlite/scripts/probe-crash.ts), the MCP server (apps/mcp/scripts/probe-tools.ts),
 * artifacts and the train CLI (apps/train/scripts/probe-artifacts-cli.ts) — and prints their
 * JSON lines as one Markdown table: probe, tried, handled, data changed. Build first
 * (`pnpm build`): the MCP and train probes run the built CLIs.
 *
 *   node scripts/probe-hardening.mjs [--kills 40]
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const extra = process.argv.slice(2);
const runs = [
  ['packages/db-sqlite', 'scripts/probe-crash.ts', extra],
  ['apps/mcp', 'scripts/probe-tools.ts', []],
  ['apps/train', 'scripts/probe-artifacts-cli.ts', []],
];
const rows = [];
for (const [dir, script, args] of runs) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: join(root, dir),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) process.stderr.write(`${dir}/${script} exited with ${r.status}\n`);
  for (const line of r.stdout.split('\n')) if (line.startsWith('{')) rows.push(JSON.parse(line));
}
const total = rows.reduce(
  (t, r) => ({
    tried: t.tried + r.tried,
    handled: t.handled + r.handled,
    dataChanged: t.dataChanged + r.dataChanged,
  }),
  { tried: 0, handled: 0, dataChanged: 0 },
);
const out = [
  '| area | probe | tried | handled | data changed | notes |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.area} | ${r.probe} | ${r.tried} | ${r.handled} | ${r.dataChanged} | ${String(r.notes).replaceAll('|', '\\|')} |`,
  ),
  `| **all** | | **${total.tried}** | **${total.handled}** | **${total.dataChanged}** | |`,
];
process.stdout.write(`${out.join('\n')}\n`);
