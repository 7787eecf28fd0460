import { ValidationError } from '@anomalia/core';

/** One event sequence: tokens (action names, system-call numbers, ...) in order. */
export type Sequence = readonly string[];

/** The input of the sequence detectors: one row per sequence. */
export type Sequences = readonly Sequence[];

/** Checks a batch of sequences (a non-empty one to fit) and returns how many there are. */
export function checkSequences(X: unknown, field: string, purpose: 'fit' | 'score'): number {
  assertSequences(X, field);
  if (purpose === 'fit' && X.length === 0)
    throw new ValidationError(field, 'at least one sequence to fit', 0);
  return X.length;
}

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
