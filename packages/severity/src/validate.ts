import type { z } from 'zod';
import { SeverityValidationError } from './errors';

/** The scale's bounds. Every severity and every energy handed to this package lies in [0, 3]. */
export const SCALE_MIN = 0;
export const SCALE_MAX = 3;

/** Throws unless `value` is a finite number in [0, 3]. */
export function assertSeverity(value: unknown, field = 'value'): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < SCALE_MIN || value > SCALE_MAX) {
    throw new SeverityValidationError(
      field,
      `a finite number in [${SCALE_MIN}, ${SCALE_MAX}] (clip model energies with clampToScale first)`,
      value,
    );
  }
}

/** Throws unless `value` is a finite number in [0, 1]. */
export function assertUnitInterval(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new SeverityValidationError(field, 'a finite number in [0, 1]', value);
  }
}

/**
 * Clips a model's energy into [0, 3]. Energy models are not bounded, so a score of 3.4 or −0.1
 * is legitimate model output; this makes the choice to file it as 3.0 or 0.0 explicit at the
 * call site. NaN and ±Infinity are still errors: they mean the model failed, not that it was sure.
 */
export function clampToScale(energy: number, field = 'energy'): number {
  if (typeof energy !== 'number' || Number.isNaN(energy)) {
    throw new SeverityValidationError(field, 'a number (NaN means the model failed)', energy);
  }
  if (!Number.isFinite(energy)) throw new SeverityValidationError(field, 'a finite number', energy);
  return Math.min(SCALE_MAX, Math.max(SCALE_MIN, energy));
}

/** Checks that `values` is an array-like of severities, naming the index of the first bad one. */
export function assertSeverities(values: ArrayLike<number>, field: string): void {
  if (values == null || typeof values.length !== 'number') {
    throw new SeverityValidationError(field, 'an array of numbers in [0, 3]', values);
  }
  for (let i = 0; i < values.length; i++) assertSeverity(values[i], `${field}[${i}]`);
}

/** Parses with a zod schema; the first issue becomes a SeverityValidationError naming its path. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = formatPath(root, issue.path);
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more issue(s))` : '';
  const received = valueAt(input, issue.path);
  throw new SeverityValidationError(
    field,
    `${expectedPhrase(issue)}${more}`,
    issue.code === 'invalid_type' && received === undefined ? undefined : received,
  );
}

/**
 * What an issue expected, phrased to follow "expected " once: zod's own messages ("Too small:
 * expected number to be >=0") used to be pasted in whole, reading "n: expected Too small:
 * expected number to be >=0".
 */
function expectedPhrase(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const noun = String(issue.expected);
      return noun === 'int' ? 'an integer' : /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
    }
    case 'too_big':
    case 'too_small': {
      const bound = issue.code === 'too_big' ? issue.maximum : issue.minimum;
      const symbol =
        issue.code === 'too_big'
          ? issue.inclusive === false
            ? '<'
            : '≤'
          : issue.inclusive === false
            ? '>'
            : '≥';
      if (issue.origin === 'array' || issue.origin === 'set' || issue.origin === 'string') {
        const unit = issue.origin === 'string' ? 'characters' : 'items';
        return `${issue.code === 'too_big' ? 'at most' : 'at least'} ${String(bound)} ${unit}`;
      }
      return `a number ${symbol} ${String(bound)}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `no key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (unknown keys are refused)`;
    default: {
      const m = /expected (.*)$/i.exec(issue.message);
      return m ? m[1]! : issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
    }
  }
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current == null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
