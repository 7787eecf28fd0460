import { z } from 'zod';
import { BAND_THRESHOLDS } from './bands';
import { PlaybookSchema } from './routing';
import { parseWith, SCALE_MAX, SCALE_MIN } from './validate';

/**
 * A catalogue is the domain's list of failure modes, each with a base severity and the severity
 * of each variant. The Mosaiq catalogue is one instance; a bearing, a pipeline or a payments
 * catalogue is defined with the same schema and works with every function of the scale.
 */

/** snake_case ids (`corrupt_mlc_data`, `out_of_range`): stable, grep-able, JSON-safe. */
export const FailureModeIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, 'a snake_case id such as "out_of_range"');

/** A severity on the 0–3 scale. */
export const SeverityValueSchema = z
  .number()
  .refine(Number.isFinite, 'a finite number')
  .refine((v) => v >= SCALE_MIN && v <= SCALE_MAX, `a severity in [${SCALE_MIN}, ${SCALE_MAX}]`);

export const CatalogueVariantSchema = z.strictObject({
  id: FailureModeIdSchema,
  value: SeverityValueSchema,
  /** Why this value: the clinical (or domain) argument, in one sentence. */
  rationale: z.string().min(1),
});

export const FailureModeKindSchema = z.enum(['accidental', 'malicious']);
export type FailureModeKind = z.output<typeof FailureModeKindSchema>;

export const CatalogueModeSchema = z
  .strictObject({
    id: FailureModeIdSchema,
    kind: FailureModeKindSchema,
    description: z.string().min(1),
    /** Severity when the variant is not known. */
    base: SeverityValueSchema,
    /** Why the base value; defaults to the description when omitted. */
    baseRationale: z.string().min(1).optional(),
    variants: z.array(CatalogueVariantSchema),
    /** Checks that catch this failure mode (free text). */
    qaChecks: z.array(z.string().min(1)).optional(),
  })
  .superRefine((mode, ctx) => {
    const seen = new Set<string>();
    mode.variants.forEach((variant, i) => {
      if (seen.has(variant.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['variants', i, 'id'],
          message: `a variant id unique within the mode (duplicate "${variant.id}")`,
        });
      }
      seen.add(variant.id);
    });
    // Seed 001: "All malicious actor failure modes have severity ≥ 2.5 (critical range)".
    if (mode.kind === 'malicious') {
      if (mode.base < BAND_THRESHOLDS.critical) {
        ctx.addIssue({
          code: 'custom',
          path: ['base'],
          message: 'a malicious mode to be critical (base ≥ 2.5)',
        });
      }
      mode.variants.forEach((variant, i) => {
        if (variant.value < BAND_THRESHOLDS.critical) {
          ctx.addIssue({
            code: 'custom',
            path: ['variants', i, 'value'],
            message: 'a malicious variant to be critical (≥ 2.5)',
          });
        }
      });
    }
  });

export const CatalogueSchema = z
  .strictObject({
    /** Short name, used in error messages (e.g. `mosaiq`). */
    name: FailureModeIdSchema,
    description: z.string().min(1).optional(),
    modes: z.array(CatalogueModeSchema).min(1),
    /** Steps per band (and per critical tier for malicious findings); see `route`. */
    playbook: PlaybookSchema.optional(),
  })
  .superRefine((catalogue, ctx) => {
    const seen = new Set<string>();
    catalogue.modes.forEach((mode, i) => {
      if (seen.has(mode.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['modes', i, 'id'],
          message: `a mode id unique within the catalogue (duplicate "${mode.id}")`,
        });
      }
      seen.add(mode.id);
    });
  });

/** One variant of a catalogued mode: its id, severity and why. */
export type CatalogueVariant = z.output<typeof CatalogueVariantSchema>;
/** One mode of a catalogue (named apart from `@anomalia/failure-modes`' `FailureMode`, the transform). */
export type CatalogueMode = z.output<typeof CatalogueModeSchema>;
export type Catalogue = z.output<typeof CatalogueSchema>;

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
/** What you write; `defineCatalogue` validates it and returns a frozen `Catalogue`. */
export type CatalogueInput = z.input<typeof CatalogueSchema>;
/** A `CatalogueInput` or a readonly one, such as an `as const` literal whose ids become types. */
export type ReadonlyCatalogueInput = DeepReadonly<CatalogueInput>;

/** Catalogues `defineCatalogue` returned: validated and frozen, so a scale need not parse them again. */
const DEFINED = new WeakSet<Catalogue>();

/** True for a catalogue returned by `defineCatalogue`. */
export function isDefinedCatalogue(value: unknown): value is Catalogue {
  return typeof value === 'object' && value !== null && DEFINED.has(value as Catalogue);
}

/**
 * Validates a catalogue and returns a deeply frozen copy. Throws SeverityValidationError naming
 * the first bad field (e.g. `catalogue.modes[3].variants[1].value`).
 */
export function defineCatalogue(input: ReadonlyCatalogueInput): Catalogue {
  const catalogue = deepFreeze(parseWith(CatalogueSchema, input, 'catalogue'));
  DEFINED.add(catalogue);
  return catalogue;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
