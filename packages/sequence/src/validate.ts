import { ValidationError } from '@anomalia/core';

/** One event sequence: tokens (action names, system-call numbers, ...) in order. */
export type Sequence = readonly string[];

/** Checks that `value` is an array of sequences of strings; the error names the first bad element. */
export function assertSequences(value: unknown, field = 'sequences'): asserts value is Sequence[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'an array of sequences (string arrays)', value);
  for (let i = 0; i < value.length; i++) assertSequence(value[i], `${field}[${i}]`);
}

export function assertSequence(value: unknown, field = 'sequence'): asserts value is Sequence {
  if (!Array.isArray(value)) throw new ValidationError(field, 'an array of string tokens', value);
  for (let j = 0; j < value.length; j++) {
    if (typeof value[j] !== 'string') throw new ValidationError(`${field}[${j}]`, 'a string token', value[j]);
  }
}

/** 0/1 labels, one per sequence. */
export function assertLabels(labels: ArrayLike<number>, n: number, field = 'labels'): void {
  if (labels.length !== n)
    throw new ValidationError(`${field}.length`, `the number of sequences (${n})`, labels.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new ValidationError(`${field}[${i}]`, '0 (normal) or 1 (anomalous)', y);
  }
}
