import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { parseJsonText, parseWith } from '@anomalia/core';
import { z } from 'zod';

/** What a corrupted treatment is, by the failure mode that made it so. */
const TruthSchema = z.strictObject({
  mode: z.string(),
  variant: z.string(),
  kind: z.string(),
  severity: z.number(),
  band: z.string(),
  /**
   * `injected`: the record a corruption targeted (or the duplicate it inserted); `affected`: a
   * record whose rows the corruption changed too; `context`: part of the failure though unchanged
   * (the original of a duplicate); `inherited`: a later fraction of a field corrupted earlier.
   */
  role: z.enum(['injected', 'affected', 'context', 'inherited']),
  /** The sandbox run that wrote the corruption. */
  runId: z.string(),
});
export type Truth = z.output<typeof TruthSchema>;

export const LedgerEntrySchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('treatment'),
    /** When it was committed to the sandbox (ms). */
    at: z.number(),
    ttxId: z.number().int(),
    /** A completed beam outside QA mode: what the model judges. */
    delivery: z.boolean(),
    truth: TruthSchema.nullable(),
  }),
  z.strictObject({
    type: z.literal('corruption'),
    at: z.number(),
    runId: z.string(),
    mode: z.string(),
    variant: z.string(),
    kind: z.string(),
    severity: z.number(),
    band: z.string(),
    targetTtxId: z.number().int().nullable(),
    primaryTtxId: z.number().int(),
    affectedTtxIds: z.array(z.number().int()),
    summary: z.string(),
  }),
]);
export type LedgerEntry = z.output<typeof LedgerEntrySchema>;

/** The simulator's ledger: one JSON line per inserted treatment and per corruption, appended. */
export class SimulatorLedger {
  constructor(readonly path: string) {}

  append(entries: readonly LedgerEntry[]): void {
    if (entries.length) appendFileSync(this.path, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }

  /** Every entry, validated (a damaged line names its number). */
  read(): LedgerEntry[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l, i) =>
        parseWith(LedgerEntrySchema, parseJsonText(l, `${this.path}:${i + 1}`), `${this.path}:${i + 1}`),
      );
  }
}
