import { ValidationError } from '../errors';

export function assertSameLength(
  a: ArrayLike<unknown>,
  b: ArrayLike<unknown>,
  names: [string, string],
): void {
  if (a.length !== b.length) {
    throw new ValidationError(`${names[1]}.length`, `the length of ${names[0]} (${a.length})`, b.length);
  }
}

/** Binary labels must be 0 or 1, and both classes must be present for ranking metrics. */
export function assertBinaryLabels(y: ArrayLike<number>, name = 'yTrue', requireBoth = false): void {
  let pos = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new ValidationError(`${name}[${i}]`, 'a binary label 0 or 1', v);
    pos += v;
  }
  if (requireBoth && (pos === 0 || pos === y.length)) {
    throw new ValidationError(
      name,
      'both classes (0 and 1) present; the metric is undefined for one class',
      `${pos} positives of ${y.length}`,
    );
  }
}

export function assertFiniteScores(s: ArrayLike<number>, name = 'scores'): void {
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i]!)) throw new ValidationError(`${name}[${i}]`, 'a finite number', s[i]);
  }
}
