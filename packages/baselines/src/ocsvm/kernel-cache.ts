/**
 * libsvm's kernel cache: columns of the kernel matrix as float32 (libsvm's Qfloat), least
 * recently used first out, within a budget of bytes. A column may be cached only in part (its
 * first `len` entries, in the solver's current order of variables), and `swapIndex` follows the
 * solver when shrinking reorders variables, as in libsvm's Cache::swap_index. Which columns are
 * kept and evicted is exactly libsvm's; two things are done more cheaply:
 * - buffers are carved from large slabs and recycled by size class instead of reallocated
 *   (allocating many large typed arrays is slow in V8 and churns the garbage collector), and
 * - the entry swaps inside cached columns are logged and replayed on a column when it is next
 *   read, instead of touching every cached column at every swap.
 */
export class KernelCache {
  private readonly data: Array<Float32Array | null>;
  private readonly len: Int32Array;
  /** Number of logged swaps already applied to each column's entries. */
  private readonly applied: Int32Array;
  /** Doubly linked LRU list; node l is the list head (sentinel). */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Remaining budget, in float32 values. */
  private size: number;
  private swapLog = new Int32Array(1024);
  private swaps = 0;
  private readonly pool = new Map<number, Float32Array[]>();
  private slab = new Float32Array(0);
  private slabUsed = 0;
  private slabTotal = 0;
  private readonly slabLimit: number;

  constructor(
    private readonly l: number,
    cacheBytes: number,
  ) {
    this.data = new Array(l).fill(null);
    this.len = new Int32Array(l);
    this.applied = new Int32Array(l);
    this.prev = new Int32Array(l + 1);
    this.next = new Int32Array(l + 1);
    this.prev[l] = l;
    this.next[l] = l;
    // As libsvm: bytes to floats, minus the per-column header (32 bytes), and room for two columns at least.
    this.size = Math.max(Math.floor(cacheBytes / 4) - l * 8, 2 * l);
    // Size classes waste up to a quarter, so slabs may hold somewhat more than the budget.
    this.slabLimit = 1.5 * this.size + 4 * l;
  }

  private unlink(h: number): void {
    this.next[this.prev[h]!] = this.next[h]!;
    this.prev[this.next[h]!] = this.prev[h]!;
  }

  private append(h: number): void {
    const head = this.l;
    this.next[h] = head;
    this.prev[h] = this.prev[head]!;
    this.next[this.prev[h]!] = h;
    this.prev[head] = h;
  }

  /** Size class of a column of `len` entries: rounded up to a quarter of its power of two. */
  private capacityFor(len: number): number {
    if (len <= 16) return 16;
    const step = 2 ** (Math.floor(Math.log2(len)) - 2);
    return Math.min(this.l, Math.ceil(len / step) * step);
  }

  private allocate(len: number): Float32Array {
    const cap = this.capacityFor(len);
    const free = this.pool.get(cap);
    if (free?.length) return free.pop()!;
    if (this.slabUsed + cap > this.slab.length) {
      if (this.slabTotal + cap > this.slabLimit) return new Float32Array(cap);
      const size = Math.max(cap, 1 << 22);
      this.slab = new Float32Array(size);
      this.slabUsed = 0;
      this.slabTotal += size;
    }
    const view = this.slab.subarray(this.slabUsed, this.slabUsed + cap);
    this.slabUsed += cap;
    return view;
  }

  private release(buffer: Float32Array): void {
    const free = this.pool.get(buffer.length);
    if (free) free.push(buffer);
    else this.pool.set(buffer.length, [buffer]);
  }

  private evict(h: number): void {
    this.unlink(h);
    this.size += this.len[h]!;
    this.release(this.data[h]!);
    this.data[h] = null;
    this.len[h] = 0;
  }

  /** Applies the logged swaps this column has not seen yet. */
  private catchUp(h: number): void {
    const col = this.data[h];
    const hl = this.len[h]!;
    const log = this.swapLog;
    if (col) {
      for (let s = this.applied[h]!; s < this.swaps; s++) {
        const lo = log[2 * s]!;
        const hi = log[2 * s + 1]!;
        // Columns covering lo but not hi were dropped when the swap happened; only full swaps remain.
        if (hl > hi) {
          const t = col[lo]!;
          col[lo] = col[hi]!;
          col[hi] = t;
        }
      }
    }
    this.applied[h] = this.swaps;
  }

  /**
   * Column `index` with room for `len` entries, made most recently used. Returns the column and
   * how many leading entries are already valid (the caller fills the rest).
   */
  get(index: number, len: number): { column: Float32Array; valid: number } {
    const have = this.len[index]!;
    if (have) {
      this.unlink(index);
      this.catchUp(index);
    }
    const more = len - have;
    let valid = len;
    if (more > 0) {
      while (this.size < more) this.evict(this.next[this.l]!);
      const old = this.data[index];
      if (!old || old.length < len) {
        const grown = this.allocate(len);
        if (old) {
          grown.set(old.subarray(0, have));
          this.release(old);
        }
        this.data[index] = grown;
      }
      this.size -= more;
      valid = have;
      this.len[index] = len;
      this.applied[index] = this.swaps;
    }
    this.append(index);
    return { column: this.data[index]!, valid };
  }

  /** Exchanges variables i and j: their columns, and entries i and j inside every cached column. */
  swapIndex(i: number, j: number): void {
    if (i === j) return;
    if (this.len[i]) this.unlink(i);
    if (this.len[j]) this.unlink(j);
    const exchange = <T extends { [k: number]: number | Float32Array | null }>(a: T) => {
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    };
    exchange(this.data);
    exchange(this.len);
    exchange(this.applied);
    if (this.len[i]) this.append(i);
    if (this.len[j]) this.append(j);
    const lo = Math.min(i, j);
    const hi = Math.max(i, j);
    if (2 * this.swaps + 2 > this.swapLog.length) {
      const bigger = new Int32Array(this.swapLog.length * 2);
      bigger.set(this.swapLog);
      this.swapLog = bigger;
    }
    this.swapLog[2 * this.swaps] = lo;
    this.swapLog[2 * this.swaps + 1] = hi;
    this.swaps++;
    // A column covering lo but not hi cannot hold the swapped value: libsvm drops it ("give up").
    const head = this.l;
    for (let h = this.next[head]!; h !== head; ) {
      const following = this.next[h]!;
      const hl = this.len[h]!;
      if (hl > lo && hl <= hi) this.evict(h);
      h = following;
    }
  }
}
