import { ValidationError } from '@anomalia/core';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * A tool's answer: the JSON as text (for any client) and as structured content, with the
 * session's `notice` (e.g. the database was reopened) when there is one.
 */
export function toolResult(data: Record<string, unknown>, notice: string | null = null): CallToolResult {
  const body = notice === null ? data : { notice, ...data };
  return { content: [{ type: 'text', text: JSON.stringify(body, null, 2) }], structuredContent: body };
}

/**
 * A failed call as a tool error (`isError: true`), never a protocol error: the model sees the
 * message and can correct its arguments. A ValidationError keeps its field, renamed to the tool's
 * argument name when the library calls it differently (`runId` → `run_id`).
 */
export function toolError(error: unknown, fieldNames: Readonly<Record<string, string>> = {}): CallToolResult {
  let err = error;
  if (err instanceof ValidationError) {
    const renamed = renameField(err.field, fieldNames);
    if (renamed !== err.field) err = new ValidationError(renamed, err.expected, err.received);
  }
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  const text = name === 'Error' ? message : `${name}: ${message}`;
  const detail: Record<string, unknown> = { name, message };
  if (err instanceof ValidationError) detail.field = err.field;
  return { content: [{ type: 'text', text }], structuredContent: { error: detail }, isError: true };
}

function renameField(field: string, names: Readonly<Record<string, string>>): string {
  for (const [from, to] of Object.entries(names)) {
    if (field === from || field.startsWith(`${from}.`) || field.startsWith(`${from}[`)) {
      return to + field.slice(from.length);
    }
  }
  return field;
}

/** Runs a tool body, turning any thrown error into a tool error. */
export async function guarded(
  body: () => Promise<CallToolResult> | CallToolResult,
  fieldNames?: Readonly<Record<string, string>>,
): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    return toolError(error, fieldNames);
  }
}
