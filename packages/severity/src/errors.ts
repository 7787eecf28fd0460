/**
 * Errors that say what was wrong and what would have been accepted, so a caller can fix the
 * input without reading this package's source.
 *
 * `SeverityValidationError` has the same shape (`field`, `expected`, `received`) as
 * `ValidationError` in `@anomalia/core`, without depending on it: this package stays standalone.
 */

/** Bad input: a severity outside [0, 3], a factor outside [0, 1], a malformed catalogue, … */
export class SeverityValidationError extends Error {
  override readonly name = 'SeverityValidationError';
  constructor(
    /** Dotted path of the offending field, e.g. `value`, `predicted[3]`, `modes[2].variants[0].value`. */
    readonly field: string,
    /** What was expected, in words a user understands. */
    readonly expected: string,
    /** What was received, when it helps. */
    readonly received?: unknown,
  ) {
    super(
      `${field}: expected ${expected}` +
        (received === undefined ? '' : `, received ${describeValue(received)}`),
    );
  }
}

/** A failure-mode id that the catalogue does not contain. */
export class UnknownFailureModeError extends Error {
  override readonly name = 'UnknownFailureModeError';
  readonly suggestion: string | undefined;
  constructor(
    readonly mode: string,
    /** Every mode id of the catalogue, in catalogue order. */
    readonly knownModes: readonly string[],
    /** Name of the catalogue that was searched (e.g. `mosaiq`). */
    readonly catalogue: string,
  ) {
    const suggestion = closestId(mode, knownModes);
    super(
      `Unknown failure mode ${JSON.stringify(mode)} in catalogue ${JSON.stringify(catalogue)}` +
        (suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : '') +
        `. Known modes: ${knownModes.join(', ')}`,
    );
    this.suggestion = suggestion;
  }
}

/**
 * A variant id that the failure mode does not have. The original implementation silently fell
 * back to the mode's base severity here, which hid typos and renamed variants; we refuse instead.
 */
export class UnknownVariantError extends Error {
  override readonly name = 'UnknownVariantError';
  readonly suggestion: string | undefined;
  constructor(
    readonly mode: string,
    readonly variant: string,
    /** Every variant id of `mode`, in catalogue order. */
    readonly knownVariants: readonly string[],
  ) {
    const suggestion = closestId(variant, knownVariants);
    super(
      `Unknown variant ${JSON.stringify(variant)} of failure mode ${JSON.stringify(mode)}` +
        (suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : '') +
        `. Known variants: ${knownVariants.length > 0 ? knownVariants.join(', ') : '(none: omit the variant to get the base severity)'}`,
    );
    this.suggestion = suggestion;
  }
}

/**
 * The known id sharing the most `_`-separated words with `id` (ties: the earlier one), or
 * undefined when none shares a word. Enough to map the seed document's short names
 * (`gantry_drift`, `db_trigger`, `periodic`) to the implementation's ids.
 */
export function closestId(id: string, known: readonly string[]): string | undefined {
  const words = new Set(id.toLowerCase().split('_').filter(Boolean));
  let best: string | undefined;
  let bestShared = 0;
  for (const candidate of known) {
    const shared = candidate.split('_').filter((w) => words.has(w)).length;
    if (shared > bestShared) {
      best = candidate;
      bestShared = shared;
    }
  }
  return best;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value))
    return `a ${value.constructor.name} of length ${(value as Uint8Array).length}`;
  return typeof value;
}
