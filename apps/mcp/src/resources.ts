import type { FailureCatalogue } from '@anomalia/failure-modes';
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describeMode, type ModeInfo } from './mode-info';

export const RESOURCE_PREFIX = 'failure-mode://mosaiq/';

/** A mode's description as Markdown: what it does, its variants, the QA checks that catch it. */
export function modeMarkdown(info: ModeInfo): string {
  const lines = [
    `# ${info.mode}`,
    '',
    info.description,
    '',
    `Kind: ${info.kind}. Scope: ${info.scope}. Severity ${info.severity} (${info.band}: ${info.bandDescription}).`,
    '',
    '## Variants',
    '',
  ];
  for (const v of info.variants) {
    lines.push(
      `### ${v.variant} (severity ${v.severity}, ${v.band}, action: ${v.action})`,
      '',
      v.description,
      '',
      `Writes: ${v.writes.join(', ')}.`,
      `QA features that react: ${[...v.features, ...v.cohortFeatures].join(', ') || 'none'}.`,
      ...(v.evidence ? ['', `Evidence that reveals it: ${v.evidence}`] : []),
      '',
      'Parameters (JSON Schema):',
      '',
      '```json',
      JSON.stringify(v.parameters),
      '```',
      '',
    );
  }
  lines.push(
    '## QA checks that catch it',
    '',
    '| check | definition | data it reads | cannot be computed when | reacts to |',
    '|---|---|---|---|---|',
  );
  for (const c of info.qaChecks) {
    lines.push(
      `| \`${c.feature}\` (${c.unit}) | ${c.definition} | ${c.reads} | ${c.missingWhen} | ${c.reactsTo.join(', ') || '(designed for the mode)'} |`,
    );
  }
  return `${lines.join('\n').replaceAll('\n\n\n', '\n\n')}\n`;
}

/** `failure-mode://mosaiq/{mode}`: one resource per mode, listed and completable. */
export function registerResources(server: McpServer, catalogue: FailureCatalogue): void {
  const ids = catalogue.modes.map((m) => m.id);
  server.registerResource(
    'failure-mode',
    new ResourceTemplate(`${RESOURCE_PREFIX}{mode}`, {
      list: () => ({
        resources: catalogue.modes.map((m) => ({
          uri: `${RESOURCE_PREFIX}${m.id}`,
          name: m.id,
          title: `Failure mode ${m.id}`,
          description: m.description,
          mimeType: 'text/markdown',
        })),
      }),
      complete: { mode: (value) => ids.filter((id) => id.startsWith(value)) },
    }),
    {
      title: 'Mosaiq failure mode',
      description:
        'A failure mode: what it corrupts, its variants and parameters, the QA checks that catch it',
      mimeType: 'text/markdown',
    },
    (uri, variables) => {
      const id = Array.isArray(variables.mode) ? variables.mode[0] : variables.mode;
      const mode = catalogue.mode(decodeURIComponent(String(id)));
      return {
        contents: [{ uri: uri.href, mimeType: 'text/markdown', text: modeMarkdown(describeMode(mode)) }],
      };
    },
  );
}
