/**
 * Every n-gram seen in training as a node of a trie: node = (parent node, last token), the root
 * (id 0) being the empty n-gram; parents always get smaller ids than their children. The
 * (parent, token) → node map is an open-addressing hash table with linear probing in ONE
 * Int32Array of 4-int slots [parent, token, node id + 1, count], so a look-up or an increment
 * touches one cache line and allocates nothing. Per-node arrays are only built on demand.
 */
export class NGramTrie {
  private slots: Int32Array;
  private mask: number;
  private nodes = 1;
  /** Parent and token of each node by id, appended on insertion (so per-node arrays need no table scan). */
  private nodeParent: Int32Array;
  private nodeToken: Int32Array;
  /** True when the last `getOrAdd` / `increment` created the node. */
  added = false;

  constructor(initialNodes = 1024) {
    const cap = nextPow2(Math.max(16, initialNodes * 2));
    this.slots = new Int32Array(cap * 4);
    this.mask = cap - 1;
    this.nodeParent = new Int32Array(Math.max(16, initialNodes + 1));
    this.nodeToken = new Int32Array(this.nodeParent.length);
    this.nodeParent[0] = -1;
    this.nodeToken[0] = -1;
  }

  /** Number of nodes, the root included. */
  get size(): number {
    return this.nodes;
  }

  /** Bytes held by the table and the per-node arrays. */
  get bytes(): number {
    return this.slots.byteLength + this.nodeParent.byteLength + this.nodeToken.byteLength;
  }

  /** Nodes the table holds before it has to grow. */
  get capacity(): number {
    return (this.mask + 1) >>> 1;
  }

  /** Parent of node `id` (−1 for the root). */
  parentOf(id: number): number {
    return this.nodeParent[id]!;
  }

  /** Last token of node `id` (−1 for the root). */
  tokenOf(id: number): number {
    return this.nodeToken[id]!;
  }

  /** The child of `parent` for `token`, or −1. */
  child(parent: number, token: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let s = hash(parent, token) & mask;
    for (;;) {
      const o = s << 2;
      const n = slots[o + 2]!;
      if (n === 0) return -1;
      if (slots[o + 1] === token && slots[o] === parent) return n - 1;
      s = (s + 1) & mask;
    }
  }

  /** Occurrences counted for the child of `parent` for `token` (0 when absent). */
  count(parent: number, token: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let s = hash(parent, token) & mask;
    for (;;) {
      const o = s << 2;
      if (slots[o + 2] === 0) return 0;
      if (slots[o + 1] === token && slots[o] === parent) return slots[o + 3]!;
      s = (s + 1) & mask;
    }
  }

  /** The child of `parent` for `token`, created with count 0 when missing; sets `added`. */
  getOrAdd(parent: number, token: number): number {
    return this.slotNode(this.slotOf(parent, token, 0));
  }

  /** Adds `by` to the count of the child of `parent` for `token` (created if missing) and returns its id. */
  increment(parent: number, token: number, by = 1): number {
    const o = this.slotOf(parent, token, by);
    return this.slots[o + 2]! - 1;
  }

  /** Adds a node with a given count (used when loading); sets `added`. */
  addNode(parent: number, token: number, count: number): number {
    return this.increment(parent, token, count);
  }

  /** Per-node arrays indexed by node id (the root is id 0 with parent −1). */
  toArrays(): { parent: Int32Array; token: Int32Array; count: Float64Array; order: Uint8Array } {
    const count = new Float64Array(this.nodes);
    const slots = this.slots;
    for (let o = 0; o < slots.length; o += 4) {
      const id = slots[o + 2]! - 1;
      if (id >= 0) count[id] = slots[o + 3]!;
    }
    const { parent, token, order } = this.structure();
    return { parent: parent.slice(), token: token.slice(), count, order };
  }

  /**
   * Parent, token and order (n-gram length) of every node, without the counts (no table scan).
   * `parent` and `token` are read-only views of the trie's own arrays, valid until the next insertion.
   */
  structure(): { parent: Int32Array; token: Int32Array; order: Uint8Array } {
    const n = this.nodes;
    const parent = this.nodeParent.subarray(0, n);
    const token = this.nodeToken.subarray(0, n);
    const order = new Uint8Array(n);
    for (let id = 1; id < n; id++) order[id] = order[parent[id]!]! + 1;
    return { parent, token, order };
  }

  /** Overwrites every node's count with `count[id]` (one pass over the table). */
  setCounts(count: ArrayLike<number>): void {
    const slots = this.slots;
    for (let o = 0; o < slots.length; o += 4) {
      const id = slots[o + 2]! - 1;
      if (id >= 0) slots[o + 3] = count[id]!;
    }
  }

  private slotNode(o: number): number {
    return this.slots[o + 2]! - 1;
  }

  /** Offset of the slot for (parent, token), inserting (with `by` added to its count) as needed. */
  private slotOf(parent: number, token: number, by: number): number {
    const mask = this.mask;
    let slots = this.slots;
    let s = hash(parent, token) & mask;
    for (;;) {
      const o = s << 2;
      if (slots[o + 2] === 0) break;
      if (slots[o + 1] === token && slots[o] === parent) {
        slots[o + 3]! += by;
        this.added = false;
        return o;
      }
      s = (s + 1) & mask;
    }
    // Keep the load factor ≤ 1/2 so probe runs stay short.
    if (this.nodes * 2 >= mask + 1) {
      this.grow();
      slots = this.slots;
      s = hash(parent, token) & this.mask;
      while (slots[(s << 2) + 2] !== 0) s = (s + 1) & this.mask;
    }
    const o = s << 2;
    const id = this.nodes++;
    slots[o] = parent;
    slots[o + 1] = token;
    slots[o + 2] = id + 1;
    slots[o + 3] = by;
    if (id >= this.nodeParent.length) {
      this.nodeParent = resize(this.nodeParent, this.nodeParent.length * 2);
      this.nodeToken = resize(this.nodeToken, this.nodeParent.length);
    }
    this.nodeParent[id] = parent;
    this.nodeToken[id] = token;
    this.added = true;
    return o;
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    const slots = new Int32Array(cap * 4);
    const mask = cap - 1;
    for (let o = 0; o < old.length; o += 4) {
      if (old[o + 2] === 0) continue;
      let s = hash(old[o]!, old[o + 1]!) & mask;
      while (slots[(s << 2) + 2] !== 0) s = (s + 1) & mask;
      const d = s << 2;
      slots[d] = old[o]!;
      slots[d + 1] = old[o + 1]!;
      slots[d + 2] = old[o + 2]!;
      slots[d + 3] = old[o + 3]!;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** Mixes two 32-bit integers (murmur3 finaliser on a multiplicative combination). */
export function hash(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

type Growable = Int32Array | Uint8Array | Float64Array | Uint32Array;

export function resize<T extends Growable>(a: T, length: number): T {
  const out = new (a.constructor as new (n: number) => T)(length);
  out.set(a.subarray(0, Math.min(a.length, length)) as never);
  return out;
}
