import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClinicDatabase, createSandbox } from '@anomalia/db-sqlite';
import type { ClinicOptionsInput } from '@anomalia/mosaiq/synthetic';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type CreateServerOptions, createServer } from '../server';

/** A temporary directory with a small synthetic sandbox clinic (and, on request, a non-sandbox one). */
export interface TestDatabases {
  dir: string;
  sandbox: string;
  /** A clinic database that was never marked as a sandbox. */
  clinic(): string;
  cleanup(): void;
}

export function makeDatabases(
  records = 300,
  seed = 11,
  options: Omit<ClinicOptionsInput, 'seed' | 'records'> = {},
): TestDatabases {
  const dir = mkdtempSync(join(tmpdir(), 'anomalia-mcp-'));
  const sandbox = join(dir, 'sandbox.sqlite');
  createSandbox(sandbox, { clinic: { ...options, seed, records } });
  let clinic: string | null = null;
  return {
    dir,
    sandbox,
    clinic() {
      if (!clinic) {
        clinic = join(dir, 'clinic.sqlite');
        createClinicDatabase(clinic, { seed, records: 50 });
      }
      return clinic;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An in-process client connected to a fresh server over the SDK's in-memory transport. */
export async function connect(
  options: CreateServerOptions,
): Promise<{ client: Client; close(): Promise<void> }> {
  const server = createServer(options);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'anomalia-mcp-test', version: '0.0.0' });
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** Calls a tool and returns its result (tool errors included: they are results, not exceptions). */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** The structured content of a successful call; fails with the tool's message otherwise. */
export async function callOk(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const result = await call(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return result.structuredContent as Record<string, unknown>;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}
