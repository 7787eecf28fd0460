/**
 * std::nth_element as libstdc++ implements it (introselect: median-of-three quickselect with
 * an unguarded partition, insertion sort below four elements, heap select past the depth
 * limit), on a range of an Int32Array with a strict-weak-order `less`. scikit-learn's KDTree
 * partitions its nodes with exactly this call, and the resulting order of the rows inside each
 * node decides which of several equidistant neighbours a query meets first; reproducing it
 * reproduces scikit-learn's choice among ties.
 */
export function nthElement(
  a: Int32Array,
  first: number,
  nth: number,
  last: number,
  less: (x: number, y: number) => boolean,
): void {
  if (first === last || nth === last) return;
  introselect(a, first, nth, last, 2 * Math.floor(Math.log2(last - first)), less);
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function introselect(
  a: Int32Array,
  first: number,
  nth: number,
  last: number,
  depthLimit: number,
  less: (x: number, y: number) => boolean,
): void {
  while (last - first > 3) {
    if (depthLimit === 0) {
      heapSelect(a, first, nth + 1, last, less);
      swap(a, first, nth);
      return;
    }
    depthLimit--;
    const cut = partitionPivot(a, first, last, less);
    if (cut <= nth) first = cut;
    else last = cut;
  }
  insertionSort(a, first, last, less);
}

function partitionPivot(
  a: Int32Array,
  first: number,
  last: number,
  less: (x: number, y: number) => boolean,
): number {
  const mid = first + Math.floor((last - first) / 2);
  moveMedianToFirst(a, first, first + 1, mid, last - 1, less);
  // Unguarded partition of [first + 1, last) around the pivot at `first`.
  let lo = first + 1;
  let hi = last;
  for (;;) {
    while (less(a[lo]!, a[first]!)) lo++;
    hi--;
    while (less(a[first]!, a[hi]!)) hi--;
    if (!(lo < hi)) return lo;
    swap(a, lo, hi);
    lo++;
  }
}

function moveMedianToFirst(
  arr: Int32Array,
  result: number,
  a: number,
  b: number,
  c: number,
  less: (x: number, y: number) => boolean,
): void {
  const va = arr[a]!;
  const vb = arr[b]!;
  const vc = arr[c]!;
  if (less(va, vb)) {
    if (less(vb, vc)) swap(arr, result, b);
    else if (less(va, vc)) swap(arr, result, c);
    else swap(arr, result, a);
  } else if (less(va, vc)) swap(arr, result, a);
  else if (less(vb, vc)) swap(arr, result, c);
  else swap(arr, result, b);
}

function insertionSort(
  a: Int32Array,
  first: number,
  last: number,
  less: (x: number, y: number) => boolean,
): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    const val = a[i]!;
    if (less(val, a[first]!)) {
      a.copyWithin(first + 1, first, i);
      a[first] = val;
    } else {
      let j = i;
      while (less(val, a[j - 1]!)) {
        a[j] = a[j - 1]!;
        j--;
      }
      a[j] = val;
    }
  }
}

function heapSelect(
  a: Int32Array,
  first: number,
  middle: number,
  last: number,
  less: (x: number, y: number) => boolean,
) {
  makeHeap(a, first, middle, less);
  for (let i = middle; i < last; i++) {
    if (less(a[i]!, a[first]!)) {
      // __pop_heap(first, middle, i): the top goes to i, i's value sifts into the heap.
      const value = a[i]!;
      a[i] = a[first]!;
      adjustHeap(a, first, 0, middle - first, value, less);
    }
  }
}

function makeHeap(a: Int32Array, first: number, last: number, less: (x: number, y: number) => boolean): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = Math.floor((len - 2) / 2); ; parent--) {
    adjustHeap(a, first, parent, len, a[first + parent]!, less);
    if (parent === 0) return;
  }
}

function adjustHeap(
  a: Int32Array,
  first: number,
  holeIndex: number,
  len: number,
  value: number,
  less: (x: number, y: number) => boolean,
): void {
  const topIndex = holeIndex;
  let secondChild = holeIndex;
  while (secondChild < Math.floor((len - 1) / 2)) {
    secondChild = 2 * (secondChild + 1);
    if (less(a[first + secondChild]!, a[first + secondChild - 1]!)) secondChild--;
    a[first + holeIndex] = a[first + secondChild]!;
    holeIndex = secondChild;
  }
  if ((len & 1) === 0 && secondChild === Math.floor((len - 2) / 2)) {
    secondChild = 2 * (secondChild + 1);
    a[first + holeIndex] = a[first + secondChild - 1]!;
    holeIndex = secondChild - 1;
  }
  // __push_heap
  let parent = Math.trunc((holeIndex - 1) / 2);
  while (holeIndex > topIndex && less(a[first + parent]!, value)) {
    a[first + holeIndex] = a[first + parent]!;
    holeIndex = parent;
    parent = Math.trunc((holeIndex - 1) / 2);
  }
  a[first + holeIndex] = value;
}
