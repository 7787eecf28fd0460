import type { z } from 'zod';
import { ValidationError } from './errors';

/**
 * The one bridge from zod to ValidationError: every boundary (params, configs, tool arguments,
 * manifests, database rows) parses through `parseWith`, so each error names its field once, says
 * what was expected in words, and never carries zod's own "expected …" phrasing twice.
 */

/** Keys that would reach an object's prototype when copied or merged; refused wherever input becomes objects. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Throws a ValidationError naming the first `__proto__`, `prototype` or `constructor` key found at
 * any depth of plain data (objects and arrays). Such keys are silently dropped by zod and pollute
 * `Object.prototype` when merged, so they are refused before anything else looks at the input.
 */
export function assertNoPrototypeKeys(value: unknown, root = ''): void {
  const seen = new Set<object>();
  const visit = (node: unknown, path: string): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    if (ArrayBuffer.isView(node) || node instanceof Date) return;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) visit(node[i], `${path}[${i}]`);
      return;
    }
    for (const key of Object.keys(node)) {
      const child = joinPath(path, key);
      if (PROTOTYPE_KEYS.has(key)) {
        throw new ValidationError(
          child,
          'an ordinary key (__proto__, prototype and constructor are refused)',
        );
      }
      visit((node as Record<string, unknown>)[key], child);
    }
  };
  visit(value, root);
}

/** JSON.parse that refuses prototype keys and names the source on a syntax error. */
export function parseJsonText(text: string, source: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(source, `valid JSON (${(e as Error).message})`);
  }
  assertNoPrototypeKeys(value, source);
  return value;
}

/**
 * Parses `input` with `schema`. On failure throws a ValidationError for the first issue: its field
 * is `root` joined with the issue's path (`params.nu`, `rows[3].FLD_ID`), its expectation a phrase
 * (`a number ≤ 3600`, `one of "a", "b"`), and the offending value.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, root = ''): z.output<S> {
  assertNoPrototypeKeys(input, root);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationErrorFromZod(result.error, input, root);
}

/** The ValidationError for a zod error's first issue (see `parseWith`). */
export function validationErrorFromZod(error: z.ZodError, input: unknown, root = ''): ValidationError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return new ValidationError(
      joinPath(joinKeys(root, issue.path), issue.keys[0]!),
      'no such key (unknown keys are refused, not ignored)',
    );
  }
  const received = valueAt(input, issue.path);
  return new ValidationError(
    formatPath(root, issue.path),
    expectedPhrase(issue),
    issue.code === 'invalid_type' && received === undefined ? undefined : received,
  );
}

/** What an issue expected, phrased to follow "expected " (zod's own message as the fallback). */
export function expectedPhrase(issue: z.core.$ZodIssue): string {
  // A schema's own message (`{ error: 'a note saying what was done' }`, `.regex(re, '…')`) says it best.
  if (issue.code !== 'custom' && !ZOD_DEFAULT_MESSAGE.test(issue.message))
    return stripExpected(issue.message);
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'undefined' ? 'no value' : `${article(String(issue.expected))}`;
    case 'too_big':
      return boundPhrase(issue.origin, '≤', '<', 'at most', issue.maximum, issue.inclusive, issue.exact);
    case 'too_small':
      return boundPhrase(issue.origin, '≥', '>', 'at least', issue.minimum, issue.inclusive, issue.exact);
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' && issue.pattern
        ? `a string matching ${issue.pattern}`
        : `a valid ${issue.format}`;
    case 'not_multiple_of':
      return `a multiple of ${issue.divisor}`;
    default:
      return stripExpected(issue.message);
  }
}

/** The start of every message zod writes itself (zod 4, English locale). */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (big|small)|Unrecognized key|Expected)/;

function boundPhrase(
  origin: string,
  inclusiveSymbol: string,
  exclusiveSymbol: string,
  countWord: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
  exact: boolean | undefined,
): string {
  const b = String(bound);
  switch (origin) {
    case 'string':
      return exact ? `a string of exactly ${b} characters` : `a string of ${countWord} ${b} characters`;
    case 'array':
    case 'set':
      return exact ? `exactly ${b} items` : `${countWord} ${b} items`;
    case 'date':
      return `a date ${inclusive === false ? exclusiveSymbol : inclusiveSymbol} ${b}`;
    default:
      return `a number ${inclusive === false ? exclusiveSymbol : inclusiveSymbol} ${b}`;
  }
}

function article(noun: string): string {
  if (noun === 'int') return 'an integer';
  if (noun === 'null') return 'null';
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** zod messages such as "Invalid input: expected number" would read "expected Invalid input: expected …". */
function stripExpected(message: string): string {
  const m = /expected (.*)$/i.exec(message);
  return m ? m[1]! : message.charAt(0).toLowerCase() + message.slice(1);
}

function joinPath(root: string, key: PropertyKey): string {
  if (typeof key === 'number') return `${root}[${key}]`;
  return root ? `${root}.${String(key)}` : String(key);
}

function joinKeys(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) out = joinPath(out, key);
  return out;
}

/** The issue's field; `(input)` when the input itself (no root, no path) is wrong. */
function formatPath(root: string, path: readonly PropertyKey[]): string {
  return joinKeys(root, path) || '(input)';
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current == null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
