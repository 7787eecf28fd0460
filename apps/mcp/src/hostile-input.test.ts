import { copyFileSync, renameSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { createSandbox, openTreatmentReader, tableChecksum } from '@anomalia/db-sqlite';
import { failureCatalogue, paramsJsonSchema } from '@anomalia/failure-modes';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './server';
import { call, callOk, connect, makeDatabases, type TestDatabases, textOf } from './testing/fixtures';
import { idOfBrokenLine, JsonRpcStdioTransport } from './transport/stdio';

let dbs: TestDatabases;
let client: Client;
let close: () => Promise<void>;
let baseline: string;

beforeAll(async () => {
  dbs = makeDatabases(300);
  baseline = tableChecksum(dbs.sandbox);
  ({ client, close } = await connect({ config: { database: { type: 'sqlite', path: dbs.sandbox } } }));
});

afterAll(async () => {
  await close();
  dbs.cleanup();
});

/** A tool error whose message is `ValidationError: <field>: expected …`, naming `field`. */
function expectFieldError(result: CallToolResult, field: string | RegExp, context: string): void {
  const text = textOf(result);
  expect(result.isError, `${context}: ${text}`).toBe(true);
  const m = /^ValidationError: (\S+): expected (.+)$/s.exec(text);
  expect(m, `${context}: ${text}`).not.toBeNull();
  // The field named, or a part of it (`params.axes[0]` for `params.axes`, `params.a` for `params`).
  const named =
    typeof field === 'string'
      ? (f: string) => f === field || f.startsWith(`${field}.`) || f.startsWith(`${field}[`)
      : (f: string) => field.test(f);
  expect(named(m![1]!), `${context}: ${text}`).toBe(true);
  // Nothing double-wrapped, nothing in zod's or the SDK's words.
  expect(m![2], `${context}: ${text}`).not.toMatch(
    /expected .*\bexpected\b|Too big|Too small|Invalid input|Input validation/,
  );
  expect((result.structuredContent as { error?: { field?: string } }).error?.field).toBe(m![1]);
}

const HOSTILE: unknown[] = [
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  8.64e15 + 1,
  'x',
  '',
  'a'.repeat(3000),
  true,
  null,
  [],
  [1],
  {},
  { a: 1 },
  '275760-09-13T00:00:00.001Z',
];

describe('every argument of every tool, with hostile values', () => {
  it('failure-mode parameters (through preview): each value suits or is refused by its name', async () => {
    let probes = 0;
    for (const mode of failureCatalogue.modes) {
      for (const variant of mode.variants) {
        const schema = paramsJsonSchema(variant.params) as { properties?: Record<string, unknown> };
        // A variant no record of this small sandbox suits (several malicious ones need a
        // population the synthetic clinic lacks) is refused as `variant` once its params are valid.
        const asDefault = await call(client, 'preview', { mode: mode.id, variant: variant.id, seed: 1 });
        const unsuitable =
          asDefault.isError &&
          (asDefault.structuredContent as { error?: { field?: string } }).error?.field === 'variant';
        for (const name of Object.keys(schema.properties ?? {})) {
          const field = unsuitable ? new RegExp(`^(params\\.${name}([.[].*)?|variant)$`) : `params.${name}`;
          for (const value of HOSTILE) {
            probes++;
            const result = await call(client, 'preview', {
              mode: mode.id,
              variant: variant.id,
              params: { [name]: value },
              seed: 1,
            });
            if (result.isError) {
              expectFieldError(result, field, `${mode.id}/${variant.id} ${name}=${JSON.stringify(value)}`);
            }
          }
        }
      }
    }
    expect(probes).toBeGreaterThan(300);
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  }, 600_000);

  it('targeting and run arguments of every tool', async () => {
    const targeting = ['ttx_ids', 'count', 'seed'];
    for (const value of HOSTILE) {
      for (const name of targeting) {
        for (const [tool, base] of [
          ['preview', { mode: 'invalid_angles', variant: 'gantry' }],
          ['invalid_angles', { variant: 'gantry' }],
        ] as const) {
          const result = await call(client, tool, { ...base, [name]: value });
          // A valid value (seed 0, count 1...) may apply: restore what it wrote.
          if (!result.isError) {
            const runId = (result.structuredContent as { runId?: string }).runId;
            if (runId) await callOk(client, 'restore_run', { run_id: runId });
            continue;
          }
          expectFieldError(
            result,
            new RegExp(`^${name}(\\[\\d+\\])?$`),
            `${tool} ${name}=${JSON.stringify(value)}`,
          );
        }
      }
      for (const [tool, args, field] of [
        ['invalid_angles', { variant: value }, 'variant'],
        ['preview', { mode: 'invalid_angles', variant: value }, 'variant'],
        ['preview', { mode: value, variant: 'gantry' }, 'mode'],
        ['preview', { mode: 'invalid_angles', variant: 'gantry', params: value }, 'params'],
        ['describe_failure_mode', { mode: value }, 'mode'],
        ['list_runs', { status: value }, 'status'],
        ['restore_run', { run_id: value }, 'run_id'],
        ['list_failure_modes', { extra: value }, 'extra'],
      ] as const) {
        const result = await call(client, tool, args);
        if (result.isError) expectFieldError(result, field, `${tool} ${JSON.stringify(args).slice(0, 80)}`);
      }
    }
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  }, 600_000);

  it('an out-of-range reference epoch is named, not a bare RangeError', async () => {
    for (const [tool, variant] of [
      ['timestamp_inconsistencies', 'future_timestamp'],
      ['invalid_offset_data', 'future_study_time'],
    ] as const) {
      for (const reference of [8.64e15 + 1, -8.64e15 - 1, 1e308]) {
        expectFieldError(
          await call(client, tool, { variant, params: { reference } }),
          'params.reference',
          tool,
        );
      }
      // Valid, but a year past it is beyond an SQL datetime: the offset is named.
      const late = await call(client, tool, { variant, params: { reference: '9999-12-01T00:00:00Z' } });
      expectFieldError(late, /^params\.(offsetDays|reference)$/, tool);
      expect(textOf(late)).toMatch(/is past 9999-12-31/);
    }
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  });

  it('a nonexistent otherFieldId is blamed on otherFieldId, not on the variant', async () => {
    const result = await call(client, 'duplicate_treatments', {
      variant: 'different_field',
      params: { otherFieldId: 99_999_999 },
    });
    expectFieldError(result, 'params.otherFieldId', 'otherFieldId');
    expect(textOf(result)).toMatch(/field 99999999 is not another field of patient \d+/);
    expect(textOf(result)).toMatch(/received 99999999$/);
    // The same with an explicit target.
    const reader = openTreatmentReader(dbs.sandbox);
    const page = await reader.listTreatments({
      from: new Date(0),
      to: new Date(Date.UTC(9999, 0)),
      completedOnly: true,
    });
    await reader.close();
    let named = 0;
    for (const t of page.items.slice(0, 20)) {
      const r = await call(client, 'preview', {
        mode: 'duplicate_treatments',
        variant: 'different_field',
        params: { otherFieldId: 99_999_999 },
        ttx_ids: [t.TTX_ID],
      });
      const field = (r.structuredContent as { error: { field: string } }).error.field;
      expect(['params.otherFieldId', 'ttx_ids[0]']).toContain(field);
      if (field === 'params.otherFieldId') named++;
    }
    expect(named).toBeGreaterThan(0);
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
  });
});

describe('prototype keys in tool arguments', () => {
  it('are refused, naming the key, instead of being dropped and the defaults applied', async () => {
    const cases: [string, string, string][] = [
      [
        'invalid_angles',
        '{"variant": "gantry", "params": {"__proto__": {"invalidValue": 999}}}',
        'params.__proto__',
      ],
      [
        'invalid_angles',
        '{"variant": "gantry", "params": {"constructor": {"prototype": {}}}}',
        'params.constructor',
      ],
      ['invalid_angles', '{"variant": "gantry", "__proto__": {"count": 5}}', '__proto__'],
      [
        'preview',
        '{"mode": "invalid_angles", "variant": "gantry", "params": {"points": "all", "prototype": 1}}',
        'params.prototype',
      ],
      ['restore_run', '{"run_id": "run-1", "__proto__": {}}', '__proto__'],
    ];
    for (const [tool, json, field] of cases) {
      const result = (await client.callTool({ name: tool, arguments: JSON.parse(json) })) as CallToolResult;
      expectFieldError(result, field, json);
      expect(textOf(result)).toContain('__proto__, prototype and constructor are refused');
    }
    expect(({} as Record<string, unknown>).invalidValue).toBeUndefined();
    expect(tableChecksum(dbs.sandbox)).toBe(baseline);
    const runs = await callOk(client, 'list_runs', { status: 'applied' });
    expect(runs.runs).toEqual([]);
  });
});

describe('the sandbox file replaced under a running server', () => {
  it('is reopened before the next call, which says so and writes to the new file', async () => {
    const local = makeDatabases(120, 5);
    const server = await connect({ config: { database: { type: 'sqlite', path: local.sandbox } } });
    try {
      const first = await callOk(server.client, 'invalid_angles', { variant: 'gantry', seed: 1 });
      expect(first.notice).toBeUndefined();
      // A fresh copy of the clinic moved over the sandbox (what a user resetting it does).
      const fresh = `${local.dir}/fresh.sqlite`;
      createSandbox(fresh, { clinic: { seed: 5, records: 120 } });
      const freshClean = tableChecksum(fresh);
      copyFileSync(fresh, `${local.dir}/fresh-copy.sqlite`);
      renameSync(fresh, local.sandbox);

      const second = await callOk(server.client, 'invalid_angles', { variant: 'gantry', seed: 2 });
      expect(second.notice).toMatch(
        /sandbox\.sqlite was replaced by another file after it was opened: the server closed its handles/,
      );
      expect(second.runId).toBe('run-1');
      expect(tableChecksum(local.sandbox)).not.toBe(freshClean);
      const third = await callOk(server.client, 'restore_run', { run_id: 'run-1' });
      expect(third.notice).toBeUndefined();
      expect(tableChecksum(local.sandbox)).toBe(freshClean);
    } finally {
      await server.close();
      local.cleanup();
    }
  });
});

describe('JSON-RPC over stdio', () => {
  /** A server on a JsonRpcStdioTransport over in-memory streams: lines in, replies out. */
  async function stdioServer() {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const replies: Record<string, unknown>[] = [];
    let buffer = '';
    stdout.on('data', (d) => {
      buffer += String(d);
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        replies.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
    });
    const server = createServer({ config: { database: { type: 'sqlite', path: dbs.sandbox } } });
    await server.connect(new JsonRpcStdioTransport(stdin, stdout));
    const send = async (line: string) => {
      const n = replies.length;
      stdin.write(`${line}\n`);
      for (let i = 0; i < 200 && replies.length === n; i++) await new Promise((r) => setTimeout(r, 10));
      return replies.slice(n);
    };
    return { send, close: () => server.close() };
  }

  it('answers a malformed line with a parse error carrying its id, and a non-request with -32600', async () => {
    const s = await stdioServer();
    try {
      const init = await s.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 't', version: '0' },
          },
        }),
      );
      expect(init[0]).toMatchObject({ id: 1, result: { serverInfo: { name: 'anomalia-mcp' } } });

      const broken = await s.send('{"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {');
      expect(broken).toEqual([
        { jsonrpc: '2.0', id: 7, error: { code: -32700, message: expect.stringMatching(/^Parse error: /) } },
      ]);
      const brokenString = await s.send('{"id": "abc", "jsonrpc": "2.0", "method": tools/list}');
      expect(brokenString[0]).toMatchObject({ id: 'abc', error: { code: -32700 } });
      const noId = await s.send('not json at all');
      expect(noId).toEqual([{ jsonrpc: '2.0', error: { code: -32700, message: expect.any(String) } }]);
      const notRpc = await s.send('{"jsonrpc": "1.0", "id": 8, "method": 42}');
      expect(notRpc[0]).toMatchObject({ id: 8, error: { code: -32600 } });

      const polluted = await s.send(
        '{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "invalid_angles", "arguments": {"variant": "gantry", "params": {"__proto__": {"invalidValue": 999}}}}}',
      );
      expect(polluted[0]).toMatchObject({
        id: 9,
        result: { isError: true, structuredContent: { error: { field: 'params.__proto__' } } },
      });
      const otherRequest = await s.send(
        '{"jsonrpc": "2.0", "id": 10, "method": "tools/list", "params": {"__proto__": {}}}',
      );
      expect(otherRequest[0]).toMatchObject({
        id: 10,
        error: { code: -32602, message: expect.stringContaining('params.__proto__') },
      });

      // Still serving.
      const list = await s.send('{"jsonrpc": "2.0", "id": 11, "method": "tools/list"}');
      expect((list[0] as { result: { tools: unknown[] } }).result.tools).toHaveLength(25);
      expect(tableChecksum(dbs.sandbox)).toBe(baseline);
    } finally {
      await s.close();
    }
  });

  it('reads the id of a broken line only at the top level', () => {
    expect(idOfBrokenLine('{"jsonrpc":"2.0","id":12,"method":')).toBe(12);
    expect(idOfBrokenLine('{"params":{"id":3},"id":"x-1","method')).toBe('x-1');
    expect(idOfBrokenLine('{"params":{"id":3},"method":')).toBeUndefined();
    expect(idOfBrokenLine('{"a":"\\"id\\": 5","b":')).toBeUndefined();
    expect(idOfBrokenLine('[1, 2')).toBeUndefined();
  });
});
