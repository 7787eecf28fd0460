import { ValidationError } from '@anomalia/core';
import { type FailureModeKind, type SeverityScale, UnknownFailureModeError } from '@anomalia/severity';
import { mosaiqScale } from '@anomalia/severity/mosaiq';
import { UnimplementedFailureModeError } from './errors';
import type { ApplyInput, FailureApplication, FailureMode, FailureVariant } from './failure-mode';
import { corruptMlcData } from './modes/corrupt-mlc-data';
import { duplicateTreatments } from './modes/duplicate-treatments';
import { invalidAngles } from './modes/invalid-angles';
import { invalidOffsetData } from './modes/invalid-offset-data';
import { auditTrailManipulation } from './modes/malicious/audit-trail-manipulation';
import { collimatorJawManipulation } from './modes/malicious/collimator-jaw-manipulation';
import { coordinatedMultifieldAttack } from './modes/malicious/coordinated-multifield-attack';
import { fieldApertureManipulation } from './modes/malicious/field-aperture-manipulation';
import { gradualParameterDrift } from './modes/malicious/gradual-parameter-drift';
import { selectiveFractionSabotage } from './modes/malicious/selective-fraction-sabotage';
import { statisticalCamouflage } from './modes/malicious/statistical-camouflage';
import { subtleDoseEscalation } from './modes/malicious/subtle-dose-escalation';
import { targetedPatientSelection } from './modes/malicious/targeted-patient-selection';
import { timeDelayedCorruption } from './modes/malicious/time-delayed-corruption';
import { metersetInconsistency } from './modes/meterset-inconsistency';
import { missingControlPoints } from './modes/missing-control-points';
import { mlcLeafCountMismatch } from './modes/mlc-leaf-count-mismatch';
import { nullRequiredFields } from './modes/null-required-fields';
import { orphanedRecords } from './modes/orphaned-records';
import { timestampInconsistencies } from './modes/timestamp-inconsistencies';

/** The 10 accidental (data-integrity) modes of the Mosaiq catalogue, every variant implemented. */
export const ACCIDENTAL_FAILURE_MODES: readonly FailureMode[] = Object.freeze([
  corruptMlcData,
  invalidAngles,
  duplicateTreatments,
  missingControlPoints,
  nullRequiredFields,
  timestampInconsistencies,
  orphanedRecords,
  invalidOffsetData,
  metersetInconsistency,
  mlcLeafCountMismatch,
]);

/**
 * The 10 malicious modes of the Mosaiq catalogue, every variant implemented: cohort transforms
 * over courses (many fractions of a patient's plan), several fields, or chosen patients.
 */
export const MALICIOUS_FAILURE_MODES: readonly FailureMode[] = Object.freeze([
  subtleDoseEscalation,
  targetedPatientSelection,
  coordinatedMultifieldAttack,
  timeDelayedCorruption,
  statisticalCamouflage,
  auditTrailManipulation,
  fieldApertureManipulation,
  gradualParameterDrift,
  selectiveFractionSabotage,
  collimatorJawManipulation,
]);

/** The implemented modes, looked up by id. */
export interface FailureCatalogue {
  readonly modes: readonly FailureMode[];
  /** The severity scale the modes take their severities from. */
  readonly scale: SeverityScale;
  /**
   * A mode by id. An id the severity catalogue does not know throws UnknownFailureModeError (listing
   * the implemented ids, with a "did you mean"); a catalogued mode without a transform throws
   * UnimplementedFailureModeError.
   */
  mode(id: string): FailureMode;
  /** A variant; an unknown one throws UnknownVariantError listing the mode's variants. */
  variant(mode: string, variant: string): FailureVariant;
  /** Every (mode, variant), in catalogue order, optionally of some kinds only. */
  variants(options?: { kinds?: readonly FailureModeKind[] }): FailureVariant[];
  /** `mode(id).apply(input)`. */
  apply(mode: string, input: ApplyInput): FailureApplication;
}

/**
 * A catalogue over some modes. Adding a mode (e.g. a malicious one) is one more entry: its
 * severity and kind must match the scale's catalogue.
 */
export function createFailureCatalogue(
  modes: readonly FailureMode[],
  scale: SeverityScale = mosaiqScale,
): FailureCatalogue {
  const byId = new Map<string, FailureMode>();
  modes.forEach((m, i) => {
    if (byId.has(m.id))
      throw new ValidationError(`modes[${i}].id`, 'a mode id not already in the catalogue', m.id);
    scale.getMode(m.id);
    byId.set(m.id, m);
  });
  const ids = [...byId.keys()];
  const mode = (id: string): FailureMode => {
    const found = typeof id === 'string' ? byId.get(id) : undefined;
    if (found) return found;
    if (typeof id === 'string' && scale.modeIds().includes(id))
      throw new UnimplementedFailureModeError(id, ids);
    throw new UnknownFailureModeError(String(id), ids, scale.catalogue.name);
  };
  return Object.freeze({
    modes: Object.freeze([...modes]),
    scale,
    mode,
    variant: (m: string, v: string) => mode(m).variant(v),
    variants(options: { kinds?: readonly FailureModeKind[] } = {}) {
      const kinds = options.kinds;
      return modes.filter((m) => !kinds || kinds.includes(m.kind)).flatMap((m) => [...m.variants]);
    },
    apply: (m: string, input: ApplyInput) => mode(m).apply(input),
  });
}

/** The catalogue of every Mosaiq failure mode: the 10 accidental and the 10 malicious ones (32 + 40 variants). */
export const failureCatalogue: FailureCatalogue = createFailureCatalogue([
  ...ACCIDENTAL_FAILURE_MODES,
  ...MALICIOUS_FAILURE_MODES,
]);
