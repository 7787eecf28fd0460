const EULER_GAMMA = 0.5772156649015329;

/**
 * c(n): the average path length of an unsuccessful search in a binary search tree of n points
 * (Liu, Ting & Zhou 2008), i.e. 2·H(n−1) − 2(n−1)/n with H(i) ≈ ln i + γ. It normalises
 * isolation depths and completes the depth of a leaf that still holds n points. Identical to
 * scikit-learn's `_average_path_length` (0 for n ≤ 1, 1 for n = 2).
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}
