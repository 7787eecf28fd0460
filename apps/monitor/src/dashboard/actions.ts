import { parseWith } from '@anomalia/core';
import type { AlertState, MonitorStore, StoredAlert } from '@anomalia/db-sqlite/monitor-store';
import { z } from 'zod';
import type { MonitorEvents } from '../events/bus';
import { type LabelledSet, labelEntry } from './labels';
import { queueItem } from './view';

/** What each review action does: the state it sets, the states it applies to, whether a note is required. */
export const REVIEW_ACTIONS = {
  acknowledge: { to: 'acknowledged', from: ['open'], noteRequired: false },
  resolve: { to: 'resolved', from: ['open', 'acknowledged'], noteRequired: true },
  'false-positive': { to: 'false_positive', from: ['open', 'acknowledged'], noteRequired: false },
} as const satisfies Record<string, { to: AlertState; from: readonly AlertState[]; noteRequired: boolean }>;
export type ReviewAction = keyof typeof REVIEW_ACTIONS;

export const ReviewBodySchema = z.strictObject({
  note: z.string().trim().max(2_000).optional(),
});
/** Resolving says what was done. */
export const ResolveBodySchema = ReviewBodySchema.refine((b) => Boolean(b.note), {
  message: 'a note saying what was done',
  path: ['note'],
});
/** An alert id in a URL path. */
export const AlertIdParam = z
  .string()
  .refine((s) => /^[1-9]\d{0,15}$/.test(s), 'an alert id (a positive integer)')
  .transform(Number);
export const AlertIdSchema = z.strictObject({
  id: AlertIdParam,
  action: z.enum(Object.keys(REVIEW_ACTIONS) as [ReviewAction, ...ReviewAction[]]),
});

/** The action does not apply to the alert's current state (someone else got there first). */
export class ReviewConflictError extends Error {
  override readonly name = 'ReviewConflictError';
}
export class AlertNotFoundError extends Error {
  override readonly name = 'AlertNotFoundError';
}

/**
 * Reviews an alert: checks the action applies to its state, appends the labelled-set line for a
 * false positive or a resolution (first, and flushed: a crash after it leaves the alert to be
 * reviewed again, whose second line supersedes the first), then sets the state, which the store
 * records in its audit log with who and when, in one transaction.
 */
export class Reviewer {
  constructor(
    private readonly store: MonitorStore,
    private readonly labels: LabelledSet,
    private readonly events?: MonitorEvents,
    private readonly now: () => number = Date.now,
  ) {}

  async review(input: {
    alertId: number;
    action: ReviewAction;
    body: unknown;
    by: string;
  }): Promise<StoredAlert> {
    const spec = REVIEW_ACTIONS[input.action];
    const { note } = parseWith(
      spec.noteRequired ? ResolveBodySchema : ReviewBodySchema,
      input.body ?? {},
      'body',
    );
    const alert = this.current(input.alertId);
    this.checkApplies(alert, input.action);
    const at = this.now();
    if (spec.to === 'false_positive' || spec.to === 'resolved')
      await this.labels.append(
        labelEntry(alert, queueItem(alert, false), {
          at,
          by: input.by,
          reason: spec.to === 'false_positive' ? 'false_positive' : 'resolved',
          note: note || null,
        }),
      );
    // Re-read: the state may have changed while the label was being flushed.
    const fresh = this.current(input.alertId);
    this.checkApplies(fresh, input.action);
    const updated = this.store.setAlertState(fresh.id, {
      state: spec.to,
      actor: input.by,
      at,
      note: note || null,
    });
    this.events?.emit('alertState', {
      at,
      alertId: updated.id,
      band: updated.band,
      from: fresh.state,
      to: updated.state,
      by: input.by,
    });
    return updated;
  }

  private current(id: number): StoredAlert {
    const alert = this.store.alert(id);
    if (!alert) throw new AlertNotFoundError(`no alert with id ${id}`);
    return alert;
  }

  private checkApplies(alert: StoredAlert, action: ReviewAction): void {
    const spec = REVIEW_ACTIONS[action];
    if (!(spec.from as readonly string[]).includes(alert.state))
      throw new ReviewConflictError(
        `alert ${alert.id} is ${alert.state.replace('_', ' ')}${alert.stateBy ? ` (by ${alert.stateBy})` : ''}: ${action} applies to ${spec.from.join(' or ')} alerts`,
      );
  }
}
