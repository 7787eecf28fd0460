import { readFile } from 'node:fs/promises';
import { ValidationError } from '@anomalia/core';
import type { Sequence } from './validate';

/**
 * Reads a sequence file: one sequence per line, tokens separated by whitespace. Blank lines
 * are skipped. An unreadable file or one without any sequence is an error naming `field`.
 */
export async function readSequencesFile(path: string, field = 'file'): Promise<Sequence[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new ValidationError(field, `a readable file of sequences (${code})`, path);
  }
  const sequences = parseSequences(text);
  if (sequences.length === 0)
    throw new ValidationError(
      field,
      'at least one sequence (one per line, tokens separated by spaces)',
      path,
    );
  return sequences;
}

export function parseSequences(text: string): Sequence[] {
  const out: Sequence[] = [];
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed) out.push(trimmed.split(/\s+/));
  }
  return out;
}
