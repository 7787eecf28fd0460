import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoredAlert } from '@anomalia/db-sqlite/monitor-store';
import type { QueueItem } from './view';

export const LABEL_SCHEMA = 'anomalia.label/v1';

/**
 * One reviewed alert in the labelled set that continual fine-tuning learns from (seed 000's
 * active-learning loop): `normal` for a false positive, `anomalous` for an alert resolved as real.
 * It names the treatment and the model so the trainer can re-extract the record's full feature
 * set from the source; `features` holds the values the scorer reported as driving the energy.
 * No patient identifier is written.
 */
export interface LabelEntry {
  readonly schema: typeof LABEL_SCHEMA;
  readonly at: string;
  readonly by: string;
  readonly label: 'normal' | 'anomalous';
  readonly reason: 'false_positive' | 'resolved';
  readonly note: string | null;
  readonly alertKey: string;
  readonly revision: number;
  readonly source: string;
  readonly recordId: string;
  readonly model: { readonly name: string; readonly version: string };
  readonly energy: number;
  readonly band: string;
  readonly features: Readonly<Record<string, number>>;
}

export function labelEntry(
  alert: StoredAlert,
  item: Pick<QueueItem, 'saliency'>,
  review: { at: number; by: string; reason: LabelEntry['reason']; note: string | null },
): LabelEntry {
  const features: Record<string, number> = {};
  for (const s of item.saliency) features[s.feature] = s.value;
  return {
    schema: LABEL_SCHEMA,
    at: new Date(review.at).toISOString(),
    by: review.by,
    label: review.reason === 'false_positive' ? 'normal' : 'anomalous',
    reason: review.reason,
    note: review.note,
    alertKey: alert.key,
    revision: alert.revision,
    source: alert.source,
    recordId: alert.recordId,
    model: alert.model,
    energy: alert.energy,
    band: alert.band,
    features,
  };
}

/**
 * Appends entries to a JSONL file, one line each, flushed to disk before `append` resolves;
 * appends are serialised so concurrent reviews never interleave their lines.
 */
export class LabelledSet {
  private last: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  append(entry: LabelEntry): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const write = async () => {
      mkdirSync(dirname(this.path), { recursive: true });
      const file = await open(this.path, 'a', 0o600);
      try {
        await file.write(line);
        await file.sync();
      } finally {
        await file.close();
      }
    };
    const next = this.last.then(write, write);
    this.last = next.catch(() => undefined);
    return next;
  }
}
