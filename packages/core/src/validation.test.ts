import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from './errors';
import { assertNoPrototypeKeys, parseJsonText, parseWith } from './validation';

const Schema = z.strictObject({
  seconds: z.number().int().max(3600).default(60),
  mode: z.enum(['fast', 'exact']).default('fast'),
  name: z.string().min(1).optional(),
  nested: z.strictObject({ items: z.array(z.number()).min(2) }).optional(),
});

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('parseWith', () => {
  it('returns the parsed value with defaults', () => {
    expect(parseWith(Schema, {}, 'params')).toEqual({ seconds: 60, mode: 'fast' });
  });

  it('names the field and phrases the bound once', () => {
    const e = errorOf(() => parseWith(Schema, { seconds: 7200 }, 'params'));
    expect(e.field).toBe('params.seconds');
    expect(e.message).toBe('params.seconds: expected a number ≤ 3600, received 7200');
  });

  it('lists the allowed values of an enum', () => {
    const e = errorOf(() => parseWith(Schema, { mode: 'slow' }, 'params'));
    expect(e.message).toBe('params.mode: expected one of "fast", "exact", received "slow"');
  });

  it('names the unknown key rather than its parent', () => {
    const e = errorOf(() => parseWith(Schema, { nested: { items: [1, 2], extra: 1 } }, 'params'));
    expect(e.field).toBe('params.nested.extra');
  });

  it('names an unknown key at the root by itself, not as "(input).key"', () => {
    const e = errorOf(() => parseWith(Schema, { bogus: 1 }));
    expect(e.field).toBe('bogus');
    expect(e.message).toBe('bogus: expected no such key (unknown keys are refused, not ignored)');
    expect(errorOf(() => parseWith(Schema, 5)).field).toBe('(input)');
  });

  it('indexes into arrays and says what the type should be', () => {
    const e = errorOf(() => parseWith(Schema, { nested: { items: [1, 'x'] } }, 'cfg'));
    expect(e.field).toBe('cfg.nested.items[1]');
    expect(e.message).toBe('cfg.nested.items[1]: expected a number, received "x"');
  });

  it('phrases array lengths', () => {
    const e = errorOf(() => parseWith(Schema, { nested: { items: [1] } }));
    expect(e.message).toMatch(/^nested\.items: expected at least 2 items/);
  });

  it('refuses a __proto__ key that zod would silently drop', () => {
    const input = JSON.parse('{"__proto__": {"polluted": 1}, "seconds": 5}');
    const e = errorOf(() => parseWith(Schema, input, 'params'));
    expect(e.field).toBe('params.__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("parseWith with a schema's own message", () => {
  it('uses a custom message instead of the generic phrase', () => {
    const S = z.strictObject({
      code: z.string().regex(/^[A-Z]{3}$/, 'three capital letters'),
      legacy: z.never({ error: 'no value: this key moved to model.params.scaler' }).optional(),
    });
    expect(errorOf(() => parseWith(S, { code: 'ab' }, 'cfg')).message).toBe(
      'cfg.code: expected three capital letters, received "ab"',
    );
    expect(errorOf(() => parseWith(S, { code: 'ABC', legacy: 1 }, 'cfg')).message).toBe(
      'cfg.legacy: expected no value: this key moved to model.params.scaler, received 1',
    );
  });
});

describe('assertNoPrototypeKeys', () => {
  it('finds constructor and prototype keys at any depth, in arrays too', () => {
    expect(() => assertNoPrototypeKeys({ a: [{ b: 1 }, { constructor: 1 }] }, 'x')).toThrow(
      'x.a[1].constructor',
    );
    expect(() => assertNoPrototypeKeys({ a: { prototype: {} } })).toThrow('a.prototype');
  });

  it('accepts ordinary data, typed arrays and dates', () => {
    expect(() =>
      assertNoPrototypeKeys({ a: [1, 'two', null], d: new Date(0), t: new Float64Array(2) }),
    ).not.toThrow();
  });
});

describe('parseJsonText', () => {
  it('names the source of a syntax error', () => {
    expect(() => parseJsonText('{"a":', 'manifest.json')).toThrow(/^manifest\.json: expected valid JSON/);
  });

  it('refuses prototype keys', () => {
    expect(() => parseJsonText('{"x": {"__proto__": {}}}', 'args')).toThrow('args.x.__proto__');
  });
});
