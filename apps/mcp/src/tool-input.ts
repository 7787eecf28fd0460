import { parseWith } from '@anomalia/core';
import { toJsonSchemaCompat } from '@modelcontextprotocol/sdk/server/zod-json-schema-compat.js';
import { z } from 'zod';

/** A tool's arguments: what the SDK is given, and how the tool itself validates them. */
export interface ToolInput<S extends z.ZodObject> {
  /** For `registerTool`: accepts any object, and lists the strict schema's JSON Schema in tools/list. */
  readonly inputSchema: z.ZodObject;
  /** Validates the arguments; the first problem is a ValidationError naming the argument. */
  parse(args: unknown): z.output<S>;
}

/**
 * The arguments of a tool are validated by the tool with `parseWith`, so a bad one is a tool
 * error in the project's words (`count: expected a number ≤ 100, received 500`), not in the SDK's
 * (`Input validation error: Invalid arguments for tool x: Too big: expected number to be <=100 at
 * count`). The SDK gets a permissive object whose JSON Schema is exactly the strict schema's
 * (the SDK's own conversion of it), so clients see the same tools/list as before.
 */
export function toolInput<S extends z.ZodObject>(schema: S): ToolInput<S> {
  const { $schema: _, ...jsonSchema } = toJsonSchemaCompat(schema, {
    strictUnions: true,
    pipeStrategy: 'input',
  }) as Record<string, unknown>;
  return {
    inputSchema: z.looseObject({}).meta(jsonSchema),
    parse: (args) => parseWith(schema, args ?? {}, ''),
  };
}
