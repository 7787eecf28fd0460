import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DeclaredColumn } from '../column-types';
import { isWord, solid, splitStatements, type Token, tokenize } from './tsql';

/**
 * The test server's database engine: SQL Server databases emulated on SQLite. A database is a
 * directory of SQLite files, `main.sqlite` for `dbo` and one file per schema created, attached
 * under the schema's name. A catalog keeps what SQLite cannot: each column's declared SQL Server
 * type (the server reports it in result metadata), identity and rowversion columns. Statements
 * are T-SQL, rewritten into SQLite's dialect (see `translate`); rowversion columns are kept by
 * triggers from a database-wide counter, as SQL Server's @@DBTS, and MIN_ACTIVE_ROWVERSION() is
 * the counter a session's snapshot sees plus one (SQLite runs one write transaction at a time,
 * so no committed version can sit above an uncommitted one).
 */

export interface CatalogColumn extends DeclaredColumn {
  nullable: boolean;
}

export interface CatalogTable {
  schema: string;
  name: string;
  objectId: number;
  columns: CatalogColumn[];
}

/** An error as SQL Server raises it: number, severity (class), message. */
export class SqlServerError extends Error {
  override readonly name = 'SqlServerError';
  constructor(
    readonly number: number,
    message: string,
    readonly severity = 16,
    readonly state = 1,
  ) {
    super(message);
  }
}

const STORAGE: Record<string, string> = {
  int: 'INTEGER',
  smallint: 'INTEGER',
  tinyint: 'INTEGER',
  bigint: 'INTEGER',
  bit: 'INTEGER',
  decimal: 'REAL',
  numeric: 'REAL',
  float: 'REAL',
  real: 'REAL',
  datetime: 'INTEGER',
  varchar: 'TEXT',
  char: 'TEXT',
  nvarchar: 'TEXT',
  nchar: 'TEXT',
  binary: 'BLOB',
  varbinary: 'BLOB',
  timestamp: 'BLOB',
  rowversion: 'BLOB',
};

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

export class FakeDatabase {
  readonly catalog = new Map<string, CatalogTable>();
  readonly schemas = new Set<string>(['dbo']);
  nextObjectId = 1000;

  constructor(
    readonly name: string,
    readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, 'main.sqlite'));
    db.pragma('journal_mode = WAL');
    // @@DBTS starts above zero, as in a real database.
    db.exec('CREATE TABLE IF NOT EXISTS "__dbts" ("value" INTEGER NOT NULL)');
    db.exec('INSERT INTO "__dbts" SELECT 2000 WHERE NOT EXISTS (SELECT 1 FROM "__dbts")');
    db.close();
  }

  /** A SQLite handle for one session, with every schema attached. */
  open(): Database.Database {
    const db = new Database(join(this.dir, 'main.sqlite'));
    db.pragma('journal_mode = WAL');
    // A lock conflict fails at once (the server runs on one thread): it becomes error 1205.
    db.pragma('busy_timeout = 0');
    this.attachAll(db);
    return db;
  }

  attachAll(db: Database.Database): void {
    const attached = new Set((db.pragma('database_list') as { name: string }[]).map((d) => d.name));
    for (const s of this.schemas) {
      if (s === 'dbo' || attached.has(s)) continue;
      db.prepare('ATTACH DATABASE ? AS ' + q(s)).run(join(this.dir, `${s}.sqlite`));
    }
  }

  table(schema: string, name: string): CatalogTable | undefined {
    return this.catalog.get(`${schema.toLowerCase()}.${name.toLowerCase()}`);
  }

  addTable(t: Omit<CatalogTable, 'objectId'>): CatalogTable {
    const table = { ...t, objectId: this.nextObjectId++ };
    this.catalog.set(`${t.schema.toLowerCase()}.${t.name.toLowerCase()}`, table);
    return table;
  }

  dropTable(schema: string, name: string): void {
    this.catalog.delete(`${schema.toLowerCase()}.${name.toLowerCase()}`);
  }

  /**
   * A copy of this database under another name (as RESTORE from a backup makes one): every
   * schema's file copied with VACUUM INTO, the catalog with it.
   */
  copyTo(name: string, dir: string): FakeDatabase {
    mkdirSync(dir, { recursive: true });
    for (const schema of this.schemas) {
      const file = schema === 'dbo' ? 'main.sqlite' : `${schema}.sqlite`;
      const src = new Database(join(this.dir, file), { readonly: true });
      try {
        src.prepare('VACUUM INTO ?').run(join(dir, file));
      } finally {
        src.close();
      }
    }
    const copy = new FakeDatabase(name, dir);
    for (const s of this.schemas) copy.schemas.add(s);
    for (const [k, t] of this.catalog)
      copy.catalog.set(k, { ...t, columns: t.columns.map((c) => ({ ...c })) });
    copy.nextObjectId = this.nextObjectId;
    return copy;
  }

  /** Removes the database's files. */
  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A result column: its name and declared type, with the flags result metadata carries. */
export interface ResultColumn {
  name: string;
  column: DeclaredColumn;
  nullable: boolean;
}

export type StatementResult =
  | { kind: 'rows'; columns: ResultColumn[]; rows: unknown[][] }
  | { kind: 'count'; count: number }
  | { kind: 'done' };

/** A value bound into SQLite: what a parameter or variable holds. */
export type BoundValue = number | bigint | string | Buffer | null;

export interface Variable {
  value: BoundValue;
  type: DeclaredColumn | null;
}

export type Role = 'owner' | 'datareader';

/** What a test can see of a session afterwards. */
export interface SessionLog {
  user: string;
  database: string;
  appName: string;
  readOnlyIntent: boolean;
  /** `read committed`, `snapshot`, ... as the session set it, then as each transaction began. */
  isolation: string[];
  xactAbort: boolean;
  /** Every statement run, as T-SQL. */
  statements: string[];
  /** Table hints seen (NOLOCK, UPDLOCK, ...). */
  hints: string[];
  transactions: { begun: number; committed: number; rolledBack: number };
}

function typeFromTokens(tokens: readonly Token[], at: number): { column: DeclaredColumn; next: number } {
  const word = tokens[at];
  if (!word || (word.kind !== 'word' && word.kind !== 'ident'))
    throw new SqlServerError(102, 'Incorrect syntax: a type was expected.', 15);
  let type = word.text.toLowerCase();
  if (type === 'rowversion') type = 'timestamp';
  if (type === 'numeric') type = 'decimal';
  if (!(type in STORAGE))
    throw new SqlServerError(2715, `Column, parameter, or variable: Cannot find data type ${word.text}.`);
  const column: DeclaredColumn = { name: '', type: type as DeclaredColumn['type'] };
  let next = at + 1;
  if (tokens[next]?.text === '(') {
    const args: string[] = [];
    next++;
    while (tokens[next] && tokens[next]!.text !== ')') {
      if (tokens[next]!.text !== ',') args.push(tokens[next]!.text);
      next++;
    }
    next++;
    if (column.type === 'decimal') {
      column.precision = Number(args[0] ?? 18);
      column.scale = Number(args[1] ?? 0);
    } else column.length = args[0]?.toLowerCase() === 'max' ? -1 : Number(args[0]);
  } else if (column.type === 'decimal') {
    column.precision = 18;
    column.scale = 0;
  } else if (['varchar', 'char', 'nvarchar', 'nchar', 'binary', 'varbinary'].includes(column.type)) {
    column.length = 1;
  }
  return { column, next };
}

function closing(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.text === '(' && tokens[i]!.kind === 'punct') depth++;
    if (tokens[i]!.text === ')' && tokens[i]!.kind === 'punct' && --depth === 0) return i;
  }
  throw new SqlServerError(102, "Incorrect syntax: missing ')'.", 15);
}

function splitItems(tokens: readonly Token[]): Token[][] {
  const out: Token[][] = [];
  let depth = 0;
  let cur: Token[] = [];
  for (const t of tokens) {
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
    if (t.kind === 'punct' && t.text === ',' && depth === 0) {
      out.push(cur);
      cur = [];
    } else cur.push(t);
  }
  if (cur.length) out.push(cur);
  return out;
}

const HINTS = new Set([
  'NOLOCK',
  'UPDLOCK',
  'HOLDLOCK',
  'ROWLOCK',
  'PAGLOCK',
  'TABLOCK',
  'TABLOCKX',
  'XLOCK',
  'READPAST',
  'NOWAIT',
  'READCOMMITTED',
  'READCOMMITTEDLOCK',
  'READUNCOMMITTED',
  'REPEATABLEREAD',
  'SERIALIZABLE',
  'SNAPSHOT',
]);

const CAST_TYPES: Record<string, string> = {
  INT: 'INTEGER',
  BIGINT: 'INTEGER',
  SMALLINT: 'INTEGER',
  TINYINT: 'INTEGER',
  BIT: 'INTEGER',
  FLOAT: 'REAL',
  REAL: 'REAL',
  DECIMAL: 'REAL',
  NUMERIC: 'REAL',
  VARCHAR: 'TEXT',
  NVARCHAR: 'TEXT',
  CHAR: 'TEXT',
  NCHAR: 'TEXT',
  BINARY: 'BLOB',
  VARBINARY: 'BLOB',
  DATETIME: 'INTEGER',
};

const versionExpr = (plus: number) => `(SELECT unhex(printf('%016X', "value" + ${plus})) FROM main."__dbts")`;

/** One connection's state: its SQLite handle, transaction, variables and settings. */
export class FakeSession {
  readonly handle: Database.Database;
  readonly log: SessionLog;
  private vars = new Map<string, Variable>();
  private transactionDepth = 0;
  private identityInsert: string | null = null;
  constructor(
    readonly db: FakeDatabase,
    readonly role: Role,
    log: Omit<SessionLog, 'isolation' | 'xactAbort' | 'statements' | 'hints' | 'transactions'>,
    /** With ApplicationIntent=ReadOnly, writes fail as on a readable secondary. */
    private readonly readOnly: boolean,
  ) {
    this.handle = db.open();
    this.log = {
      ...log,
      isolation: [],
      xactAbort: false,
      statements: [],
      hints: [],
      transactions: { begun: 0, committed: 0, rolledBack: 0 },
    };
  }

  get inTransaction(): boolean {
    return this.transactionDepth > 0;
  }

  begin(isolation: string): void {
    if (this.transactionDepth > 0)
      throw new SqlServerError(3902, 'Nested transactions are not supported by the test server.');
    this.handle.exec('BEGIN');
    this.transactionDepth = 1;
    this.log.transactions.begun++;
    this.log.isolation.push(isolation);
  }

  commit(): void {
    if (this.transactionDepth === 0)
      throw new SqlServerError(
        3902,
        'The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.',
      );
    try {
      this.handle.exec('COMMIT');
    } catch (error) {
      throw mapSqliteError(error, '');
    }
    this.transactionDepth = 0;
    this.log.transactions.committed++;
  }

  rollback(): void {
    if (this.transactionDepth === 0) return;
    if (this.handle.inTransaction) this.handle.exec('ROLLBACK');
    this.transactionDepth = 0;
    this.log.transactions.rolledBack++;
  }

  close(): void {
    this.rollback();
    this.handle.close();
  }

  /** Starts a request: variables are scoped to one batch. */
  resetBatch(): void {
    this.vars = new Map();
  }

  setVariable(name: string, value: BoundValue, type: DeclaredColumn | null): void {
    this.vars.set(name.toLowerCase(), { value, type });
  }

  /** Splits a batch into statements (batches repeat: a loader sends the same text many times). */
  statements(sql: string): Token[][] {
    let out = this.batches.get(sql);
    if (!out) {
      out = splitStatements(tokenize(sql));
      remember(this.batches, sql, out);
    }
    return out;
  }

  private readonly batches = new Map<string, Token[][]>();
  private readonly translated = new Map<Token[], string>();
  private readonly prepared = new Map<string, Database.Statement>();

  private prepare(sql: string): Database.Statement {
    let stmt = this.prepared.get(sql);
    if (!stmt) {
      try {
        stmt = this.handle.prepare(sql);
      } catch (error) {
        throw mapSqliteError(error, sql);
      }
      remember(this.prepared, sql, stmt);
    }
    return stmt;
  }

  /** Runs one statement of the current batch. */
  run(tokens: Token[]): StatementResult {
    this.db.attachAll(this.handle);
    const s = solid(tokens);
    const first = s[0]?.text.toUpperCase();
    switch (first) {
      case 'SET':
        return this.set(s);
      case 'DECLARE':
        return this.declare(s);
      case 'SELECT':
        return this.select(tokens);
      case 'INSERT':
      case 'UPDATE':
      case 'DELETE':
        return this.write(tokens, first);
      case 'CREATE':
        return this.create(s);
      case 'DROP':
        return this.drop(s);
      default:
        throw new SqlServerError(
          102,
          `Incorrect syntax near '${s[0]?.text ?? ''}' (the test server runs SELECT, INSERT, UPDATE, DELETE, SET, DECLARE, CREATE and DROP).`,
          15,
        );
    }
  }

  private set(s: Token[]): StatementResult {
    const words = s.map((t) => t.text.toUpperCase());
    if (words[1] === 'TRANSACTION' && words[2] === 'ISOLATION' && words[3] === 'LEVEL') {
      this.log.isolation.push(words.slice(4).join(' ').toLowerCase());
    } else if (words[1] === 'XACT_ABORT') {
      this.log.xactAbort = words[2] === 'ON';
    } else if (words[1] === 'IDENTITY_INSERT') {
      const { schema, name } = this.objectName(s, 2);
      const on = words[words.length - 1] === 'ON';
      this.identityInsert = on ? `${schema}.${name}`.toLowerCase() : null;
    }
    return { kind: 'done' };
  }

  private declare(s: Token[]): StatementResult {
    if (s[1]?.kind !== 'var') throw new SqlServerError(102, "Incorrect syntax near 'DECLARE'.", 15);
    const { column, next } = typeFromTokens(s, 2);
    let value: BoundValue = null;
    if (s[next]?.text === '=') {
      const expr = this.translate(s.slice(next + 1).flatMap((x): Token[] => [x, { kind: 'ws', text: ' ' }]));
      value = (
        this.handle.prepare(`SELECT ${expr.sql}`).raw(true).get(this.bindings()) as unknown[]
      )[0] as BoundValue;
    }
    this.setVariable(s[1].text, value, column);
    return { kind: 'done' };
  }

  private bindings(): Record<string, BoundValue> {
    const out: Record<string, BoundValue> = {};
    for (const [k, v] of this.vars) out[k] = v.value;
    return out;
  }

  /** Binds only the variables a statement uses (SQLite refuses unused named parameters). */
  private bindFor(sql: string): Record<string, BoundValue> {
    let names = this.variableNames.get(sql);
    if (!names) {
      names = [...new Set([...sql.matchAll(/@([A-Za-z0-9_#$@]+)/g)].map((m) => m[1]!.toLowerCase()))];
      remember(this.variableNames, sql, names);
    }
    const out: Record<string, BoundValue> = {};
    for (const k of names) {
      const v = this.vars.get(k);
      if (!v) throw new SqlServerError(137, `Must declare the scalar variable "@${k}".`, 15);
      out[k] = v.value;
    }
    return out;
  }

  private readonly variableNames = new Map<string, string[]>();

  private select(tokens: Token[]): StatementResult {
    const t = this.translate(tokens);
    const stmt = this.prepare(t.sql).raw(true);
    let rows: unknown[][];
    try {
      rows = stmt.all(this.bindFor(t.sql)) as unknown[][];
    } catch (error) {
      throw mapSqliteError(error, t.sql);
    }
    const meta = stmt.columns();
    const columns = meta.map((m, i): ResultColumn => {
      const schema = m.database === 'main' ? 'dbo' : (m.database ?? '');
      const declared =
        m.table && m.column
          ? this.db
              .table(schema, m.table)
              ?.columns.find((c) => c.name.toLowerCase() === m.column!.toLowerCase())
          : undefined;
      if (declared)
        return { name: m.name, column: { ...declared, name: m.name }, nullable: declared.nullable };
      const variable = t.variableColumns.get(i);
      if (variable) return { name: m.name, column: { ...variable, name: m.name }, nullable: true };
      return { name: m.name, column: { ...inferType(rows.map((r) => r[i])), name: m.name }, nullable: true };
    });
    return { kind: 'rows', columns, rows };
  }

  private write(tokens: Token[], verb: string): StatementResult {
    const s = solid(tokens);
    const at = verb === 'UPDATE' ? 1 : 2; // UPDATE t / INSERT INTO t / DELETE FROM t
    const { schema, name } = this.objectName(s, at);
    const table = this.db.table(schema, name);
    if (!table) throw new SqlServerError(208, `Invalid object name '${schema}.${name}'.`);
    this.checkWrite(verb, table);
    if (verb === 'INSERT') {
      const identity = table.columns.find((c) => c.identity);
      const listStart = s.findIndex((x, i) => i > at && x.text === '(');
      const listed =
        listStart > 0
          ? s
              .slice(listStart + 1, closing(s, listStart))
              .filter((x) => x.kind !== 'punct')
              .map((x) => x.text.toLowerCase())
          : [];
      if (
        identity &&
        listed.includes(identity.name.toLowerCase()) &&
        this.identityInsert !== `${schema}.${name}`.toLowerCase()
      ) {
        throw new SqlServerError(
          544,
          `Cannot insert explicit value for identity column in table '${name}' when IDENTITY_INSERT is set to OFF.`,
        );
      }
    }
    // A write's translation depends on nothing but its text (no OBJECT_ID, no typed variables).
    let sql = this.translated.get(tokens);
    if (sql === undefined) {
      sql = this.translate(tokens).sql;
      remember(this.translated, tokens, sql);
    }
    const t = { sql };
    try {
      const info = this.prepare(t.sql).run(this.bindFor(t.sql));
      return { kind: 'count', count: info.changes };
    } catch (error) {
      throw mapSqliteError(error, t.sql);
    }
  }

  private checkWrite(verb: string, table: { schema: string; name: string }): void {
    if (this.readOnly) {
      throw new SqlServerError(
        3906,
        `Failed to update database "${this.db.name}" because the database is read-only.`,
      );
    }
    if (this.role === 'datareader') {
      throw new SqlServerError(
        229,
        `The ${verb} permission was denied on the object '${table.name}', database '${this.db.name}', schema '${table.schema}'.`,
        14,
      );
    }
  }

  private create(s: Token[]): StatementResult {
    const what = s[1]?.text.toUpperCase();
    if (this.role === 'datareader' || this.readOnly) {
      if (this.readOnly) this.checkWrite('CREATE', { schema: 'dbo', name: '' });
      throw new SqlServerError(262, `CREATE ${what} permission denied in database '${this.db.name}'.`, 14);
    }
    if (what === 'SCHEMA') {
      const name = s[2]!.text;
      if (this.db.schemas.has(name.toLowerCase()))
        throw new SqlServerError(2714, `There is already an object named '${name}' in the database.`);
      this.db.schemas.add(name.toLowerCase());
      this.db.attachAll(this.handle);
      return { kind: 'done' };
    }
    if (what === 'TABLE') return this.createTable(s);
    if (what === 'INDEX' || (what === 'UNIQUE' && isWord(s[2], 'INDEX'))) {
      const unique = what === 'UNIQUE';
      const at = unique ? 3 : 2;
      const index = s[at]!.text;
      const { schema, name, next } = this.objectName(s, at + 2);
      const cols = s
        .slice(next + 1, closing(s, next))
        .filter((x) => x.kind !== 'punct')
        .map((x) => q(x.text));
      const prefix = schema === 'dbo' ? '' : `${q(schema)}.`;
      this.exec(
        `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${prefix}${q(index)} ON ${q(name)} (${cols.join(', ')})`,
      );
      return { kind: 'done' };
    }
    throw new SqlServerError(102, `Incorrect syntax near '${what}'.`, 15);
  }

  private createTable(s: Token[]): StatementResult {
    const { schema, name, next } = this.objectName(s, 2);
    if (!this.db.schemas.has(schema.toLowerCase()))
      throw new SqlServerError(
        2760,
        `The specified schema name "${schema}" either does not exist or you do not have permission to use it.`,
      );
    if (this.db.table(schema, name))
      throw new SqlServerError(2714, `There is already an object named '${name}' in the database.`);
    const end = closing(s, next);
    const columns: CatalogColumn[] = [];
    const constraints: string[] = [];
    for (const item of splitItems(s.slice(next + 1, end))) {
      const head = item[0]!;
      if (isWord(head, 'CONSTRAINT') || isWord(head, 'PRIMARY') || isWord(head, 'UNIQUE')) {
        const at = isWord(head, 'CONSTRAINT') ? 2 : 0;
        const kind = isWord(item[at], 'PRIMARY') ? 'PRIMARY KEY' : 'UNIQUE';
        const open = item.findIndex((x, i) => i > at && x.text === '(');
        const cols = item
          .slice(open + 1, closing(item, open))
          .filter((x) => x.kind !== 'punct')
          .map((x) => q(x.text));
        constraints.push(`${kind} (${cols.join(', ')})`);
        continue;
      }
      const { column, next: after } = typeFromTokens(item, 1);
      column.name = head.text;
      let nullable = true;
      for (let i = after; i < item.length; i++) {
        if (isWord(item[i], 'NOT') && isWord(item[i + 1], 'NULL')) nullable = false;
        if (isWord(item[i], 'IDENTITY')) column.identity = true;
        if (isWord(item[i], 'PRIMARY')) constraints.push(`PRIMARY KEY (${q(column.name)})`);
        if (isWord(item[i], 'UNIQUE')) constraints.push(`UNIQUE (${q(column.name)})`);
      }
      if (column.type === 'timestamp') {
        column.readOnly = true;
        column.length = 8;
      }
      columns.push({ ...column, nullable });
    }
    const defs = columns.map((c) => {
      const storage = STORAGE[c.type]!;
      // SQLite sets the rowversion after the insert (a trigger), so the column itself accepts NULL.
      const notNull = !c.nullable && c.type !== 'timestamp' ? ' NOT NULL' : '';
      const check =
        c.length !== undefined && c.length > 0 && c.type !== 'timestamp'
          ? ` CHECK (length(${q(c.name)}) <= ${c.length})`
          : '';
      return `${q(c.name)} ${storage}${notNull}${check}`;
    });
    const prefix = schema === 'dbo' ? '' : `${q(schema)}.`;
    this.exec(`CREATE TABLE ${prefix}${q(name)} (${[...defs, ...constraints].join(', ')}) STRICT`);
    const version = columns.find((c) => c.type === 'timestamp');
    if (version) {
      if (schema !== 'dbo')
        throw new SqlServerError(50000, 'The test server keeps rowversion columns in dbo only.');
      const others = columns
        .filter((c) => c !== version)
        .map((c) => q(c.name))
        .join(', ');
      // (Inside a trigger, names are unqualified: the trigger and both tables live in main.)
      const bump = `UPDATE "__dbts" SET "value" = "value" + 1; UPDATE ${q(name)} SET ${q(version.name)} = (SELECT unhex(printf('%016X', "value")) FROM "__dbts") WHERE rowid = NEW.rowid;`;
      this.exec(`CREATE TRIGGER ${q(`__rv_insert_${name}`)} AFTER INSERT ON ${q(name)} BEGIN ${bump} END`);
      this.exec(
        `CREATE TRIGGER ${q(`__rv_update_${name}`)} AFTER UPDATE OF ${others} ON ${q(name)} BEGIN ${bump} END`,
      );
    }
    this.db.addTable({ schema, name, columns });
    return { kind: 'done' };
  }

  private drop(s: Token[]): StatementResult {
    if (!isWord(s[1], 'TABLE')) throw new SqlServerError(102, `Incorrect syntax near '${s[1]?.text}'.`, 15);
    const { schema, name } = this.objectName(s, 2);
    if (!this.db.table(schema, name))
      throw new SqlServerError(
        3701,
        `Cannot drop the table '${schema}.${name}', because it does not exist or you do not have permission.`,
        11,
      );
    if (this.role === 'datareader' || this.readOnly) this.checkWrite('DROP', { schema, name });
    this.exec(`DROP TABLE ${schema === 'dbo' ? '' : `${q(schema)}.`}${q(name)}`);
    this.db.dropTable(schema, name);
    return { kind: 'done' };
  }

  private exec(sql: string): void {
    try {
      this.handle.exec(sql);
    } catch (error) {
      throw mapSqliteError(error, sql);
    }
  }

  /** `[schema].[name]` or `name` starting at `at`: the schema (dbo when absent) and where the name ends. */
  private objectName(s: readonly Token[], at: number): { schema: string; name: string; next: number } {
    const a = s[at];
    if (!a) throw new SqlServerError(102, 'Incorrect syntax: an object name was expected.', 15);
    if (s[at + 1]?.text === '.' && s[at + 2]) return { schema: a.text, name: s[at + 2]!.text, next: at + 3 };
    return { schema: 'dbo', name: a.text, next: at + 1 };
  }

  /** A known object's id, as OBJECT_ID() gives it. */
  objectId(text: string): number | null {
    const parts =
      splitStatements(tokenize(text))[0]?.filter((t) => t.kind === 'ident' || t.kind === 'word') ?? [];
    const [schema, name] =
      parts.length >= 2 ? [parts[0]!.text, parts[1]!.text] : ['dbo', parts[0]?.text ?? ''];
    return this.db.table(schema, name)?.objectId ?? null;
  }

  /**
   * T-SQL tokens → SQLite SQL: [identifiers] quoted for SQLite, dbo dropped and other schemas
   * kept as attached databases, TOP (n) moved to a LIMIT at the end of its SELECT, table hints
   * removed (and logged), N'strings', 0x literals, and SQL Server's functions replaced.
   */
  translate(tokens: readonly Token[]): { sql: string; variableColumns: Map<number, DeclaredColumn> } {
    const out: string[] = [];
    const limits = new Map<number, string>();
    let depth = 0;
    const s = tokens;
    const variableColumns = new Map<number, DeclaredColumn>();
    const solidTokens = solid(tokens);
    // `SELECT @v AS [x]`: a bare variable keeps its declared type in the result metadata.
    if (isWord(solidTokens[0], 'SELECT') && solidTokens[1]?.kind === 'var') {
      const v = this.vars.get(solidTokens[1].text.toLowerCase());
      if (v?.type && (solidTokens.length === 2 || isWord(solidTokens[2], 'AS')))
        variableColumns.set(0, v.type);
    }
    const next = (i: number) => {
      let j = i + 1;
      while (j < s.length && s[j]!.kind === 'ws') j++;
      return j;
    };
    for (let i = 0; i < s.length; i++) {
      const t = s[i]!;
      const up = t.text.toUpperCase();
      if (t.kind === 'ws') {
        out.push(' ');
        continue;
      }
      if (t.kind === 'punct' && t.text === '(') {
        depth++;
        out.push('(');
        continue;
      }
      if (t.kind === 'punct' && t.text === ')') {
        const limit = limits.get(depth);
        if (limit !== undefined) {
          out.push(` LIMIT ${limit}`);
          limits.delete(depth);
        }
        depth--;
        out.push(')');
        continue;
      }
      // schema.table: dbo is SQLite's main database, other schemas are attached under their name.
      if (
        (t.kind === 'ident' || (t.kind === 'word' && !isKeyword(up))) &&
        s[next(i)]?.text === '.' &&
        this.db.schemas.has(t.text.toLowerCase())
      ) {
        const dot = next(i);
        const second = s[next(dot)];
        if (second && (second.kind === 'ident' || second.kind === 'word')) {
          const schema = t.text.toLowerCase();
          out.push(schema === 'dbo' ? q(second.text) : `${q(schema)}.${q(second.text)}`);
          i = next(dot);
          continue;
        }
      }
      switch (t.kind) {
        case 'ident':
          out.push(q(t.text));
          continue;
        case 'string':
          out.push(`'${t.text.replace(/'/g, "''")}'`);
          continue;
        case 'hex':
          out.push(`X'${t.text}'`);
          continue;
        case 'var':
          out.push(`@${t.text.toLowerCase()}`);
          continue;
        case 'sysvar':
          if (up === 'DBTS') {
            out.push(versionExpr(0));
            continue;
          }
          throw new SqlServerError(102, `The test server does not know @@${t.text}.`, 15);
        case 'number':
        case 'punct':
          out.push(t.text);
          continue;
      }
      // words
      if (up === 'TOP') {
        let j = next(i);
        let limit: string;
        if (s[j]?.text === '(') {
          const end = closing(s, j);
          limit = this.translate(s.slice(j + 1, end)).sql.trim();
          j = end;
        } else limit = s[j]!.kind === 'var' ? `@${s[j]!.text.toLowerCase()}` : s[j]!.text;
        limits.set(depth, limit);
        i = j;
        continue;
      }
      if (
        up === 'WITH' &&
        s[next(i)]?.text === '(' &&
        HINTS.has(s[next(next(i))]?.text.toUpperCase() ?? '')
      ) {
        const end = closing(s, next(i));
        for (const h of s.slice(next(i) + 1, end))
          if (h.kind === 'word') this.log.hints.push(h.text.toUpperCase());
        i = end;
        continue;
      }
      const call = s[next(i)]?.text === '(';
      if (call && up === 'MIN_ACTIVE_ROWVERSION') {
        i = closing(s, next(i));
        out.push(versionExpr(1));
        continue;
      }
      if (call && (up === 'OBJECT_ID' || up === 'SCHEMA_ID')) {
        const end = closing(s, next(i));
        const arg = s.slice(next(i) + 1, end).find((x) => x.kind === 'string');
        const id =
          up === 'OBJECT_ID'
            ? this.objectId(arg?.text ?? '')
            : this.db.schemas.has((arg?.text ?? '').toLowerCase())
              ? 5
              : null;
        out.push(id === null ? 'NULL' : String(id));
        i = end;
        continue;
      }
      if (call && up === 'DB_NAME') {
        i = closing(s, next(i));
        out.push(`'${this.db.name}'`);
        continue;
      }
      if (call && (up === 'GETUTCDATE' || up === 'SYSUTCDATETIME')) {
        i = closing(s, next(i));
        out.push(String(Date.now()));
        continue;
      }
      if (call && up === 'CAST') {
        const end = closing(s, next(i));
        const inner = s.slice(next(i) + 1, end);
        const as = inner.findIndex((x) => isWord(x, 'AS'));
        const target = inner.slice(as + 1).find((x) => x.kind === 'word');
        const mapped = CAST_TYPES[target?.text.toUpperCase() ?? ''];
        if (as < 0 || !mapped) throw new SqlServerError(102, 'The test server does not know this CAST.', 15);
        out.push(`CAST(${this.translate(inner.slice(0, as)).sql} AS ${mapped})`);
        i = end;
        continue;
      }
      const renamed = { ISNULL: 'ifnull', LEN: 'length', COUNT_BIG: 'count' }[up];
      out.push(renamed && call ? renamed : t.text);
    }
    const last = limits.get(0);
    if (last !== undefined) out.push(` LIMIT ${last}`);
    return { sql: out.join('').trim(), variableColumns };
  }
}

/** A small LRU: a Map keeps insertion order, so the first key is the oldest. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, size = 64): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > size) map.delete(map.keys().next().value as K);
}

const KEYWORDS = new Set(['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'ON', 'AS', 'IN', 'BY', 'SET']);
function isKeyword(w: string): boolean {
  return KEYWORDS.has(w);
}

/** The declared type of an expression column, from its values. */
function inferType(values: readonly unknown[]): DeclaredColumn {
  const v = values.find((x) => x !== null && x !== undefined);
  if (typeof v === 'number' && Number.isInteger(v)) {
    const big = values.some((x) => typeof x === 'number' && Math.abs(x) > 2147483647);
    return { name: '', type: big ? 'bigint' : 'int' };
  }
  if (typeof v === 'bigint') return { name: '', type: 'bigint' };
  if (typeof v === 'number') return { name: '', type: 'float' };
  if (typeof v === 'string')
    return {
      name: '',
      type: 'nvarchar',
      length: values.some((x) => typeof x === 'string' && x.length > 4000) ? -1 : 4000,
    };
  if (v instanceof Uint8Array)
    return {
      name: '',
      type: 'varbinary',
      length: values.some((x) => x instanceof Uint8Array && x.length > 8000) ? -1 : 8000,
    };
  return { name: '', type: 'int' };
}

/** A SQLite error as the SQL Server error a client would see. */
export function mapSqliteError(error: unknown, sql: string): SqlServerError {
  if (error instanceof SqlServerError) return error;
  const e = error as { code?: string; message?: string };
  const m = e.message ?? String(error);
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new SqlServerError(
      1205,
      'Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.',
      13,
      51,
    );
  }
  if (e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new SqlServerError(
      2627,
      `Violation of PRIMARY KEY or UNIQUE constraint. Cannot insert duplicate key (${m}).`,
      14,
    );
  }
  if (e.code === 'SQLITE_CONSTRAINT_NOTNULL')
    return new SqlServerError(
      515,
      `Cannot insert the value NULL into a column that does not allow nulls (${m}).`,
    );
  if (e.code === 'SQLITE_CONSTRAINT_CHECK')
    return new SqlServerError(2628, `String or binary data would be truncated (${m}).`);
  if (/no such table/.test(m))
    return new SqlServerError(208, `Invalid object name '${m.replace(/.*no such table: /, '')}'.`);
  if (/no such column/.test(m))
    return new SqlServerError(207, `Invalid column name '${m.replace(/.*no such column: /, '')}'.`);
  if (/cannot store/.test(m)) return new SqlServerError(8114, `Error converting data type (${m}).`);
  if (/syntax error/.test(m)) return new SqlServerError(102, `Incorrect syntax (${m}) in: ${sql}`, 15);
  return new SqlServerError(50000, `${m} (in: ${sql})`);
}
