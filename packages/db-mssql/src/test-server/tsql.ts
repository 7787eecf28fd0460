/**
 * A tokenizer and splitter for the T-SQL this package sends, used by the test server to run it on
 * SQLite. It understands T-SQL's lexical rules ([quoted] identifiers with ]] escapes, N'strings',
 * 0x literals, @variables, @@functions, -- and block comments) and nothing of SQL Server's
 * semantics: those come from SQLite, with the rewrites in `translate.ts`.
 */
export type TokenKind = 'ident' | 'word' | 'string' | 'number' | 'hex' | 'var' | 'sysvar' | 'punct' | 'ws';

export interface Token {
  kind: TokenKind;
  /** The identifier's name, the string's value, the word as written, the punctuation. */
  text: string;
  /** For strings: was it N'...'. For identifiers: was it quoted. */
  flag?: boolean;
}

export class TsqlSyntaxError extends Error {
  override readonly name = 'TsqlSyntaxError';
}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      let j = i + 1;
      while (j < n && /\s/.test(sql[j]!)) j++;
      out.push({ kind: 'ws', text: sql.slice(i, j) });
      i = j;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      out.push({ kind: 'ws', text: ' ' });
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new TsqlSyntaxError('unterminated comment');
      i = end + 2;
      out.push({ kind: 'ws', text: ' ' });
    } else if (c === '[') {
      let j = i + 1;
      let name = '';
      for (;;) {
        if (j >= n) throw new TsqlSyntaxError('unterminated [identifier]');
        if (sql[j] === ']') {
          if (sql[j + 1] === ']') {
            name += ']';
            j += 2;
            continue;
          }
          break;
        }
        name += sql[j++];
      }
      out.push({ kind: 'ident', text: name, flag: true });
      i = j + 1;
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      if (end < 0) throw new TsqlSyntaxError('unterminated "identifier"');
      out.push({ kind: 'ident', text: sql.slice(i + 1, end), flag: true });
      i = end + 1;
    } else if (c === "'" || ((c === 'N' || c === 'n') && sql[i + 1] === "'")) {
      const unicode = c !== "'";
      let j = i + (unicode ? 2 : 1);
      let value = '';
      for (;;) {
        if (j >= n) throw new TsqlSyntaxError('unterminated string');
        if (sql[j] === "'") {
          if (sql[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += sql[j++];
      }
      out.push({ kind: 'string', text: value, flag: unicode });
      i = j + 1;
    } else if (c === '0' && (sql[i + 1] === 'x' || sql[i + 1] === 'X')) {
      let j = i + 2;
      while (j < n && /[0-9a-fA-F]/.test(sql[j]!)) j++;
      out.push({ kind: 'hex', text: sql.slice(i + 2, j) });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && /[0-9.eE]/.test(sql[j]!)) j++;
      out.push({ kind: 'number', text: sql.slice(i, j) });
      i = j;
    } else if (c === '@') {
      const sys = sql[i + 1] === '@';
      let j = i + (sys ? 2 : 1);
      while (j < n && /[A-Za-z0-9_#$@]/.test(sql[j]!)) j++;
      out.push({ kind: sys ? 'sysvar' : 'var', text: sql.slice(i + (sys ? 2 : 1), j) });
      i = j;
    } else if (/[A-Za-z_#]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_#$]/.test(sql[j]!)) j++;
      out.push({ kind: 'word', text: sql.slice(i, j) });
      i = j;
    } else {
      const two = sql.slice(i, i + 2);
      if (['<=', '>=', '<>', '!=', '!<', '!>'].includes(two)) {
        out.push({ kind: 'punct', text: two });
        i += 2;
      } else if ('(),;.=<>+-*/%'.includes(c)) {
        out.push({ kind: 'punct', text: c });
        i++;
      } else throw new TsqlSyntaxError(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  return out;
}

/** Statements of a batch: split at `;` outside parentheses, without whitespace at the ends. */
export function splitStatements(tokens: readonly Token[]): Token[][] {
  const out: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  const push = () => {
    while (current.length && current[0]!.kind === 'ws') current.shift();
    while (current.length && current[current.length - 1]!.kind === 'ws') current.pop();
    if (current.length) out.push(current);
    current = [];
  };
  for (const t of tokens) {
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
    if (t.kind === 'punct' && t.text === ';' && depth === 0) push();
    else current.push(t);
  }
  push();
  // Statements without semicolons (the driver's login batch of SET lines): split before each SET.
  return out.flatMap((s) => {
    const parts: Token[][] = [];
    let part: Token[] = [];
    s.forEach((t, i) => {
      const startsSet =
        t.kind === 'word' &&
        t.text.toUpperCase() === 'SET' &&
        i > 0 &&
        part.length > 0 &&
        isWord(part[0], 'SET');
      if (startsSet) {
        parts.push(trim(part));
        part = [];
      }
      part.push(t);
    });
    parts.push(trim(part));
    return parts.filter((p) => p.length > 0);
  });
}

function trim(tokens: Token[]): Token[] {
  let a = 0;
  let b = tokens.length;
  while (a < b && tokens[a]!.kind === 'ws') a++;
  while (b > a && tokens[b - 1]!.kind === 'ws') b--;
  return tokens.slice(a, b);
}

export function isWord(t: Token | undefined, word: string): boolean {
  return t !== undefined && t.kind === 'word' && t.text.toUpperCase() === word;
}

/** Tokens without whitespace. */
export function solid(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'ws');
}

/** The text of tokens back as T-SQL (for messages). */
export function render(tokens: readonly Token[]): string {
  return tokens
    .map((t) => {
      switch (t.kind) {
        case 'ident':
          return t.flag ? `[${t.text.replace(/]/g, ']]')}]` : t.text;
        case 'string':
          return `${t.flag ? 'N' : ''}'${t.text.replace(/'/g, "''")}'`;
        case 'hex':
          return `0x${t.text}`;
        case 'var':
          return `@${t.text}`;
        case 'sysvar':
          return `@@${t.text}`;
        default:
          return t.text;
      }
    })
    .join('');
}
