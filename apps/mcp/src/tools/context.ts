import type { FailureCatalogue } from '@anomalia/failure-modes';
import type { CorruptionLimits } from '@anomalia/qa-workflow';
import type { TargetSession } from '../target';

/** What every tool module needs: the modes, the (lazily opened) target and the limits. */
export interface ToolContext {
  readonly catalogue: FailureCatalogue;
  readonly session: TargetSession;
  readonly limits: CorruptionLimits;
}
