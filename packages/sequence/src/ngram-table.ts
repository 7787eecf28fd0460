import {
  ArtifactError,
  type LoadedArtifact,
  parseArtifactWith,
  requireTensor,
  type TypedArray,
} from '@anomalia/core';
import { z } from 'zod';
import { NGramTrie } from './ngram-trie';
import { Vocabulary } from './vocabulary';

/**
 * How the n-gram models of this package live in core's artifact format: a trie is three int32
 * tensors over its nodes 1..n (the root is implicit), `<name>.parent`, `<name>.token` and
 * `<name>.count`, in weights.bin; the vocabulary is `state.vocabulary` in the manifest.
 */
export function trieTensors(name: string, trie: NGramTrie): Record<string, { data: TypedArray }> {
  const { parent, token, count } = trie.toArrays();
  return {
    [`${name}.parent`]: { data: parent.slice(1) },
    [`${name}.token`]: { data: token.slice(1) },
    [`${name}.count`]: { data: Int32Array.from(count.subarray(1)) },
  };
}

/**
 * Rebuilds a trie, checking what checksums cannot: equal lengths, every parent saved before its
 * child, tokens inside the vocabulary, depth within `maxOrder`, non-negative counts, no
 * duplicate (parent, token). Errors name the tensor element.
 */
export function trieFromTensors(
  artifact: LoadedArtifact,
  name: string,
  vocabSize: number,
  maxOrder: number,
): NGramTrie {
  const parent = requireTensor(artifact, `${name}.parent`, 'int32');
  const m = parent.length;
  const token = requireTensor(artifact, `${name}.token`, 'int32', m);
  const count = requireTensor(artifact, `${name}.count`, 'int32', m);
  const bad = (tensor: string, i: number, message: string) =>
    new ArtifactError('weights.bin', `tensors.${name}.${tensor}[${i}]`, message);
  const trie = new NGramTrie(m + 1);
  const order = new Uint8Array(m + 1);
  for (let i = 0; i < m; i++) {
    const id = i + 1;
    const p = parent[i]!;
    const t = token[i]!;
    if (p < 0 || p >= id) throw bad('parent', i, `a parent saved before node ${id}, found ${p}`);
    if (t < 0 || t >= vocabSize)
      throw bad('token', i, `a token id below the vocabulary size ${vocabSize}, found ${t}`);
    order[id] = order[p]! + 1;
    if (order[id]! > maxOrder) throw bad('parent', i, `an n-gram of order ≤ ${maxOrder}`);
    if (count[i]! < 0) throw bad('count', i, `a count ≥ 0, found ${count[i]}`);
    const got = trie.addNode(p, t, count[i]!);
    if (!trie.added || got !== id)
      throw bad('token', i, `a unique (parent, token) pair, found a duplicate of node ${got}`);
  }
  return trie;
}

const VocabularySchema = z.array(z.string()).superRefine((tokens, ctx) => {
  const seen = new Set<string>();
  tokens.forEach((t, i) => {
    if (seen.has(t)) ctx.addIssue({ code: 'custom', path: [i], message: 'tokens without duplicates' });
    seen.add(t);
  });
});

/** The vocabulary saved in `state.vocabulary`; a bad token list is an ArtifactError naming the element. */
export function vocabularyFromState(artifact: LoadedArtifact): Vocabulary {
  const tokens = parseArtifactWith(
    VocabularySchema,
    artifact.state.vocabulary,
    'manifest.json',
    'state.vocabulary',
  );
  return Vocabulary.fromTokens(tokens);
}

/**
 * Checks that the tables were counted with the n-gram length the params now ask for (recorded as
 * `state.ngramOrder` when saved): a manifest whose `n` / `order` / `window` was edited after saving
 * would otherwise score with tables of another length.
 */
export function assertNgramOrder(artifact: LoadedArtifact, implied: number, param: string): void {
  const saved = artifact.state.ngramOrder;
  if (saved !== implied) {
    throw new ArtifactError(
      'manifest.json',
      'state.ngramOrder',
      `the n-gram tables were counted up to length ${JSON.stringify(saved)}, but ${param} is ${implied}: params and weights do not match`,
    );
  }
}
