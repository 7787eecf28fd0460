import { describe, expect, it } from 'vitest';
import { type CatalogueInput, defineCatalogue } from './catalogue';
import { SeverityValidationError } from './errors';

const valid = (): CatalogueInput => ({
  name: 'tiny',
  modes: [
    {
      id: 'spike',
      kind: 'accidental',
      description: 'A spike.',
      base: 1.0,
      variants: [{ id: 'short', value: 0.6, rationale: 'Brief.' }],
    },
  ],
});

function errorOf(fn: () => unknown): SeverityValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SeverityValidationError);
    return error as SeverityValidationError;
  }
  throw new Error('expected a SeverityValidationError');
}

describe('defineCatalogue', () => {
  it('accepts a valid catalogue and freezes it', () => {
    const cat = defineCatalogue(valid());
    expect(cat.modes[0]!.variants[0]!.value).toBe(0.6);
    expect(Object.isFrozen(cat.modes[0])).toBe(true);
  });

  it('names the path of a value outside [0, 3]', () => {
    const input = valid();
    input.modes[0]!.variants[0]!.value = 3.5;
    const error = errorOf(() => defineCatalogue(input));
    expect(error.field).toBe('catalogue.modes[0].variants[0].value');
    expect(error.received).toBe(3.5);
  });

  it('rejects NaN severities', () => {
    const input = valid();
    input.modes[0]!.base = Number.NaN;
    expect(errorOf(() => defineCatalogue(input)).field).toBe('catalogue.modes[0].base');
  });

  it('rejects duplicate mode ids and duplicate variant ids', () => {
    const dupMode = valid();
    dupMode.modes.push({ ...dupMode.modes[0]! });
    expect(errorOf(() => defineCatalogue(dupMode)).field).toBe('catalogue.modes[1].id');

    const dupVariant = valid();
    dupVariant.modes[0]!.variants.push({ id: 'short', value: 0.7, rationale: 'Again.' });
    const error = errorOf(() => defineCatalogue(dupVariant));
    expect(error.field).toBe('catalogue.modes[0].variants[1].id');
    expect(error.message).toMatch(/duplicate "short"/);
  });

  it('requires malicious modes and variants to be critical (≥ 2.5)', () => {
    const input = valid();
    input.modes[0]!.kind = 'malicious';
    input.modes[0]!.base = 2.6;
    const error = errorOf(() => defineCatalogue(input));
    expect(error.field).toBe('catalogue.modes[0].variants[0].value');
    expect(error.expected).toMatch(/malicious variant to be critical/);
  });

  it('rejects ids that are not snake_case, unknown kinds and unknown keys', () => {
    const badId = valid();
    badId.modes[0]!.id = 'Spike Mode';
    expect(errorOf(() => defineCatalogue(badId)).field).toBe('catalogue.modes[0].id');

    const badKind = valid();
    (badKind.modes[0] as { kind: string }).kind = 'accident';
    expect(errorOf(() => defineCatalogue(badKind)).field).toBe('catalogue.modes[0].kind');

    const extra = { ...valid(), severity: 1 } as CatalogueInput;
    expect(errorOf(() => defineCatalogue(extra)).field).toBe('catalogue');
  });

  it('requires at least one mode', () => {
    expect(errorOf(() => defineCatalogue({ name: 'empty', modes: [] })).field).toBe('catalogue.modes');
  });
});
