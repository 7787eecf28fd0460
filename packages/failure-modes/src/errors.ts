/**
 * The target does not suit the variant: a single-control-point field cannot get a gap, a record
 * without an offset cannot get extreme offsets, a change that would alter nothing visible is
 * refused. `reason` says why, so a caller (or the plan) can pick another target.
 */
export class NotApplicableError extends Error {
  override readonly name = 'NotApplicableError';
  constructor(
    readonly mode: string,
    readonly variant: string,
    readonly ttxId: number | null,
    readonly reason: string,
  ) {
    super(`${mode}/${variant} cannot be applied to TrackTreatment ${ttxId ?? '(none)'}: ${reason}`);
  }
}

/**
 * A failure mode that the severity catalogue knows but that has no transform here yet (the
 * malicious modes arrive in a later release). Distinct from an unknown id, which is a typo.
 */
export class UnimplementedFailureModeError extends Error {
  override readonly name = 'UnimplementedFailureModeError';
  constructor(
    readonly mode: string,
    readonly implemented: readonly string[],
  ) {
    super(
      `Failure mode ${JSON.stringify(mode)} is in the severity catalogue but has no transform yet. ` +
        `Implemented modes: ${implemented.join(', ')}`,
    );
  }
}
