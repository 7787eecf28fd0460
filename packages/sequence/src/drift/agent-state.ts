/**
 * What the monitor keeps per agent, all of fixed size: the last `history` actions (a ring of ids)
 * with their counts, and the times of the last `timeCapacity` actions. Concentration and entropy
 * of the window are maintained incrementally (O(1) per action) from the counts.
 */
export class AgentState {
  /** Last actions, a ring; `length` of them are valid, the newest at head − 1. */
  readonly actions: Int32Array;
  head = 0;
  length = 0;
  /** Count of each action id in the window. */
  private readonly counts = new Map<number, number>();
  /** countOfCounts[c] = number of distinct actions seen exactly c times in the window. */
  private readonly countOfCounts: Int32Array;
  private maxCount = 0;
  /** Σ c·ln c over the window's counts, so H = ln T − S / T. */
  private sumCLogC = 0;
  /** Action times (ms), a ring, non-decreasing. */
  private readonly times: Float64Array;
  private timeHead = 0;
  private timeLength = 0;
  /** Monitor tick of the agent's last action (for eviction of the least recently active). */
  lastSeen = 0;
  /** Last alert time per cohort and alert type (index), for the cooldown. */
  readonly lastAlert = new Map<string, Float64Array>();
  /** c · ln c for every count the window can hold (shared by all agents of a monitor). */
  private readonly cLogC: Float64Array;

  constructor(history: number, timeCapacity: number, cLogC = cLogCTable(history)) {
    this.actions = new Int32Array(history);
    this.countOfCounts = new Int32Array(history + 2);
    this.times = new Float64Array(timeCapacity);
    this.cLogC = cLogC;
  }

  get distinct(): number {
    return this.counts.size;
  }

  /** Appends an action, dropping the oldest once the window is full. */
  push(action: number): void {
    const cap = this.actions.length;
    if (this.length === cap) this.decrement(this.actions[this.head]!);
    else this.length++;
    this.actions[this.head] = action;
    this.head = (this.head + 1) % cap;
    this.increment(action);
  }

  /** Share of the window taken by its most frequent action. */
  concentration(): number {
    return this.length ? this.maxCount / this.length : 0;
  }

  /** Entropy of the window's actions divided by its maximum ln k (0 when k ≤ 1 distinct actions). */
  normalizedEntropy(): number {
    const k = this.counts.size;
    if (k <= 1) return 0;
    const T = this.length;
    const h = Math.log(T) - this.sumCLogC / T;
    return Math.min(1, Math.max(0, h / Math.log(k)));
  }

  /** Records an action time and returns how many of the stored times are ≥ since. */
  recordTime(now: number, since: number): number {
    const cap = this.times.length;
    const last = this.timeLength ? this.times[(this.timeHead - 1 + cap) % cap]! : now;
    // A clock that steps back is treated as standing still, so the ring stays sorted.
    this.times[this.timeHead] = Math.max(now, last);
    this.timeHead = (this.timeHead + 1) % cap;
    if (this.timeLength < cap) this.timeLength++;
    // Binary search over the ring for the first time ≥ since (oldest at index 0).
    const start = (this.timeHead - this.timeLength + cap) % cap;
    let lo = 0;
    let hi = this.timeLength;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[(start + mid) % cap]! >= since) hi = mid;
      else lo = mid + 1;
    }
    return this.timeLength - lo;
  }

  private increment(a: number): void {
    const c = this.counts.get(a) ?? 0;
    this.counts.set(a, c + 1);
    this.sumCLogC += this.cLogC[c + 1]! - this.cLogC[c]!;
    this.countOfCounts[c]!--;
    this.countOfCounts[c + 1]!++;
    if (c + 1 > this.maxCount) this.maxCount = c + 1;
  }

  private decrement(a: number): void {
    const c = this.counts.get(a)!;
    if (c === 1) this.counts.delete(a);
    else this.counts.set(a, c - 1);
    this.sumCLogC -= this.cLogC[c]! - this.cLogC[c - 1]!;
    this.countOfCounts[c]!--;
    this.countOfCounts[c - 1]!++;
    if (c === this.maxCount && this.countOfCounts[c] === 0) this.maxCount--;
  }
}

/** c · ln c for c = 0..max (0 · ln 0 = 0). */
export function cLogCTable(max: number): Float64Array {
  const t = new Float64Array(max + 2);
  for (let c = 2; c < t.length; c++) t[c] = c * Math.log(c);
  return t;
}
