import { ValidationError } from '@anomalia/core';

/** Reserved ids: padding before the first token, the end-of-sequence marker, and every unseen token. */
export const BOS_ID = 0;
export const EOS_ID = 1;
export const UNK_ID = 2;
const RESERVED = ['<s>', '</s>', '<unk>'] as const;

/**
 * Interns tokens to small integer ids so the hot paths work on Int32Arrays instead of strings.
 * Ids 0–2 are reserved (`<s>`, `</s>`, `<unk>`); real tokens start at 3 in first-seen order.
 */
export class Vocabulary {
  private readonly ids = new Map<string, number>();
  private readonly tokens: string[] = [...RESERVED];

  /** Number of ids in use, reserved ones included. */
  get size(): number {
    return this.tokens.length;
  }

  /** Real tokens in id order (without the reserved ones). */
  get list(): readonly string[] {
    return this.tokens.slice(RESERVED.length);
  }

  static fromTokens(tokens: readonly string[], field = 'vocabulary'): Vocabulary {
    const v = new Vocabulary();
    tokens.forEach((t, i) => {
      if (typeof t !== 'string') throw new ValidationError(`${field}[${i}]`, 'a string', t);
      if (v.ids.has(t)) throw new ValidationError(`${field}[${i}]`, 'tokens without duplicates', t);
      v.add(t);
    });
    return v;
  }

  /** The id of a token, adding it if new. */
  add(token: string): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.tokens.length;
      this.tokens.push(token);
      this.ids.set(token, id);
    }
    return id;
  }

  /** The id of a token, or UNK_ID when it was never added. */
  get(token: string): number {
    return this.ids.get(token) ?? UNK_ID;
  }

  token(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new ValidationError('id', `an id below ${this.tokens.length}`, id);
    return t;
  }

  /** Encodes a sequence, growing the vocabulary (training) or mapping unseen tokens to UNK_ID (scoring). */
  encode(sequence: readonly string[], grow: boolean): Int32Array {
    const out = new Int32Array(sequence.length);
    for (let i = 0; i < sequence.length; i++) {
      const t = sequence[i]!;
      out[i] = grow ? this.add(t) : (this.ids.get(t) ?? UNK_ID);
    }
    return out;
  }
}
