import type { InhibitRule } from '../config/schema';

/**
 * Alertmanager-style inhibition: an open alert in a rule's source bands suppresses notifications
 * of alerts in its target bands that carry the same values of the rule's `equal` labels. A label
 * that is empty or missing never matches, so alerts without a patient inhibit nothing.
 */
/** What inhibition looks at in an alert. */
export interface LabelledAlert {
  readonly id: number;
  readonly band: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function inhibitor(
  rules: readonly InhibitRule[],
  openSources: readonly LabelledAlert[],
): (a: LabelledAlert) => boolean {
  const indexes = rules.map((rule) => {
    const byTuple = new Map<string, Set<number>>();
    for (const s of openSources) {
      if (!(rule.sourceBands as readonly string[]).includes(s.band)) continue;
      const t = tuple(s, rule.equal);
      if (t === null) continue;
      const ids = byTuple.get(t) ?? new Set<number>();
      ids.add(s.id);
      byTuple.set(t, ids);
    }
    return { rule, byTuple };
  });
  return (a) =>
    indexes.some(({ rule, byTuple }) => {
      if (!(rule.targetBands as readonly string[]).includes(a.band)) return false;
      const t = tuple(a, rule.equal);
      const sources = t === null ? undefined : byTuple.get(t);
      return sources !== undefined && [...sources].some((id) => id !== a.id);
    });
}

/** The bands whose open alerts can inhibit (what to load from the store). */
export function sourceBands(rules: readonly InhibitRule[]): string[] {
  return [...new Set(rules.flatMap((r) => r.sourceBands))];
}

function tuple(a: LabelledAlert, names: readonly string[]): string | null {
  const values: string[] = [];
  for (const n of names) {
    const v = a.labels[n];
    if (v === undefined || v === '') return null;
    values.push(v);
  }
  return JSON.stringify(values);
}
