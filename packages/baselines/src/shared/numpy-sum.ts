/**
 * Sum of values[offset .. offset + n) in numpy's order (pairwise summation with eight partial
 * sums, `pairwise_sum` in numpy's loops), so means match numpy's to the last bit. Used where
 * scikit-learn takes `np.mean(..., axis=1)` of short rows, e.g. LOF's reach distances.
 */
export function numpySum(values: ArrayLike<number>, offset: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[offset + i]!;
    return s;
  }
  if (n <= 128) {
    let r0 = values[offset]!;
    let r1 = values[offset + 1]!;
    let r2 = values[offset + 2]!;
    let r3 = values[offset + 3]!;
    let r4 = values[offset + 4]!;
    let r5 = values[offset + 5]!;
    let r6 = values[offset + 6]!;
    let r7 = values[offset + 7]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const o = offset + i;
      r0 += values[o]!;
      r1 += values[o + 1]!;
      r2 += values[o + 2]!;
      r3 += values[o + 3]!;
      r4 += values[o + 4]!;
      r5 += values[o + 5]!;
      r6 += values[o + 6]!;
      r7 += values[o + 7]!;
    }
    let s = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) s += values[offset + i]!;
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return numpySum(values, offset, half) + numpySum(values, offset + half, n - half);
}
