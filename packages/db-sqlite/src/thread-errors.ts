import { inspect } from 'node:util';
import { ValidationError } from '@anomalia/core';
import { HotJournalError } from './recovery';
import { SchemaError } from './schema';

/**
 * An error as it crosses a thread boundary. Structured clone keeps only an Error's message and
 * stack (and its name when it is a built-in one), so the name, own enumerable properties and
 * cause travel explicitly.
 */
export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown>;
  cause?: SerializedError | undefined;
}

/** A value that structured clone can carry, or its `util.inspect` text when it cannot. */
function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return inspect(value, { depth: 4 });
  }
}

const CARRIED_APART = new Set(['name', 'message', 'stack', 'cause']);

/** What `rebuildError` needs to throw the same error on the other side. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) {
    return {
      name: 'Error',
      message: `non-Error value thrown: ${inspect(error)}`,
      stack: undefined,
      props: {},
    };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (!CARRIED_APART.has(key)) props[key] = cloneable((error as unknown as Record<string, unknown>)[key]);
  }
  const out: SerializedError = { name: error.name, message: error.message, stack: error.stack, props };
  if (error.cause !== undefined) out.cause = serializeError(error.cause);
  return out;
}

/**
 * The error again: an instance of its class for the error classes a reader throws that callers
 * test with `instanceof` (ValidationError, SchemaError, HotJournalError), else an Error; with the
 * same name, message and own properties, and the other thread's stack.
 */
export function rebuildError(s: SerializedError): Error {
  const p = s.props;
  let error: Error;
  if (s.name === 'ValidationError')
    error = new ValidationError(String(p.field), String(p.expected), p.received);
  else if (s.name === 'SchemaError' && Array.isArray(p.problems)) {
    error = new SchemaError(String(p.database), p.problems.map(String));
  } else if (s.name === 'HotJournalError') error = new HotJournalError(String(p.path), String(p.reason));
  else error = new Error(s.message);
  // The message as thrown (a ValidationError's `received` may have arrived as text).
  Object.defineProperty(error, 'message', { value: s.message, writable: true, configurable: true });
  if (error.name !== s.name) error.name = s.name;
  Object.assign(error, p);
  if (s.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: rebuildError(s.cause),
      writable: true,
      configurable: true,
    });
  }
  if (s.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: s.stack, writable: true, configurable: true });
  }
  return error;
}
