import { ArtifactError } from '@anomalia/core';
import { z } from 'zod';
import { NGramTrie } from './ngram-trie';
import { Vocabulary } from './vocabulary';

/** A trie as three parallel arrays over nodes 1..n (the root is implicit): parent, token, count. */
export const NGramTableSchema = z.object({
  parent: z.array(z.number().int().nonnegative()),
  token: z.array(z.number().int().nonnegative()),
  count: z.array(z.number().nonnegative()),
});
export type NGramTableJson = z.infer<typeof NGramTableSchema>;

export function trieToJson(trie: NGramTrie): NGramTableJson {
  const { parent, token, count } = trie.toArrays();
  return {
    parent: Array.from(parent.subarray(1)),
    token: Array.from(token.subarray(1)),
    count: Array.from(count.subarray(1)),
  };
}

/** Rebuilds a saved vocabulary; a bad token list is an ArtifactError naming the field. */
export function vocabularyFromJson(tokens: readonly string[], file: string): Vocabulary {
  try {
    return Vocabulary.fromTokens(tokens, 'model.vocabulary');
  } catch (e) {
    throw new ArtifactError(
      file,
      (e as { field?: string }).field ?? 'model.vocabulary',
      (e as Error).message,
    );
  }
}

/**
 * Rebuilds a trie, checking what the schema cannot: equal lengths, every parent saved before its
 * child, tokens inside the vocabulary, depth within `maxOrder`, no duplicate (parent, token).
 */
export function trieFromJson(
  json: NGramTableJson,
  vocabSize: number,
  maxOrder: number,
  field: string,
  file: string,
): NGramTrie {
  const { parent, token, count } = json;
  const m = parent.length;
  if (token.length !== m)
    throw new ArtifactError(
      file,
      `${field}.token`,
      `expected ${m} entries (as parent), found ${token.length}`,
    );
  if (count.length !== m)
    throw new ArtifactError(
      file,
      `${field}.count`,
      `expected ${m} entries (as parent), found ${count.length}`,
    );
  const trie = new NGramTrie(m + 1);
  const order = new Uint8Array(m + 1);
  for (let i = 0; i < m; i++) {
    const id = i + 1;
    const p = parent[i]!;
    const t = token[i]!;
    if (p >= id)
      throw new ArtifactError(file, `${field}.parent[${i}]`, `a parent saved before node ${id}, found ${p}`);
    if (t >= vocabSize)
      throw new ArtifactError(
        file,
        `${field}.token[${i}]`,
        `a token id below the vocabulary size ${vocabSize}, found ${t}`,
      );
    order[id] = order[p]! + 1;
    if (order[id]! > maxOrder)
      throw new ArtifactError(file, `${field}.parent[${i}]`, `an n-gram of order ≤ ${maxOrder}`);
    if (!Number.isInteger(count[i]!) || count[i]! > 0x7fffffff)
      throw new ArtifactError(file, `${field}.count[${i}]`, `a whole count below 2^31, found ${count[i]}`);
    const got = trie.addNode(p, t, count[i]!);
    if (!trie.added || got !== id)
      throw new ArtifactError(
        file,
        `${field}.token[${i}]`,
        `a unique (parent, token) pair, found a duplicate of node ${got}`,
      );
  }
  return trie;
}
