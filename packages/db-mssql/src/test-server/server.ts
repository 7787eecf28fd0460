import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Debug from 'tedious/lib/debug.js';
import IncomingMessageStream from 'tedious/lib/incoming-message-stream.js';
import Message from 'tedious/lib/message.js';
import OutgoingMessageStream from 'tedious/lib/outgoing-message-stream.js';
import PreloginPayload from 'tedious/lib/prelogin-payload.js';
import {
  type BoundValue,
  FakeDatabase,
  FakeSession,
  type Role,
  type SessionLog,
  SqlServerError,
} from './engine';
import { ISOLATION_NAMES, parseLogin7, parseRpc, parseSqlBatch, parseTransactionRequest } from './requests';
import {
  COLLATION,
  colMetadata,
  DONE_STATUS,
  done,
  envChangeBytes,
  envChangeString,
  errorToken,
  loginAck,
  returnStatus,
  rowTokens,
  TOKEN,
} from './tokens';
import { render } from './tsql';

/**
 * A small SQL Server for tests, speaking TDS 7.4 to the real `mssql`/`tedious` driver over TCP
 * on 127.0.0.1 (port 0), built from tedious' own message classes the way tedious' unit tests
 * build theirs: PRELOGIN, LOGIN7 (users and passwords checked, ApplicationIntent seen), SQL
 * batches, `sp_executesql` RPCs with typed parameters, transactions (begin, commit, rollback with
 * their ENVCHANGE descriptors), attention (cancel) and SQL Server's errors, on Mosaiq-shaped
 * databases kept in SQLite (see `engine.ts`). Faults make a statement fail with a given error
 * (1205 deadlock...), wait (a slow query), or drop the connection.
 */

const PACKET = {
  SQL_BATCH: 0x01,
  RPC: 0x03,
  REPLY: 0x04,
  ATTENTION: 0x06,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  PRELOGIN: 0x12,
} as const;

const SP_EXECUTESQL = 10;
const SERVER_NAME = 'ANOMALIA-TEST';

export interface UserSpec {
  password: string;
  /** `owner` may do anything; `datareader` only SELECT (a db_datareader login). */
  role?: Role;
}

export interface Fault {
  /** Which statement: its T-SQL and the request's parameters (by name, without @). */
  match: (statement: { sql: string; params: Readonly<Record<string, BoundValue>> }) => boolean;
  /** Raise this error instead of running the statement. */
  error?: { number: number; message: string; severity?: number };
  /** Wait before running it (a slow query: timeouts, cancellation). */
  delayMs?: number;
  /** Drop the connection instead (the client sees a reset). */
  reset?: boolean;
  /** How many times it fires (default 1). */
  times?: number;
}

export interface TestServerOptions {
  users?: Record<string, UserSpec>;
  /** Databases that exist from the start. */
  databases?: string[];
  /** Sessions with ApplicationIntent=ReadOnly cannot write (as on a readable secondary). */
  readOnlyIntentIsReadOnly?: boolean;
  /** Answer PRELOGIN with "encryption required" (clients with encrypt=false are refused). */
  requireEncryption?: boolean;
}

interface Request {
  cancelled: boolean;
}

/** A running test server: where it listens, its databases and sessions, and its faults. */
export class TestSqlServer {
  readonly sessions: SessionLog[] = [];
  private readonly faults: (Fault & { left: number })[] = [];
  private readonly databases = new Map<string, FakeDatabase>();
  private readonly sockets = new Set<Socket>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'anomalia-tds-'));
  private readonly users: Record<string, UserSpec>;

  private constructor(
    private readonly server: Server,
    private readonly options: TestServerOptions,
  ) {
    this.users = options.users ?? { sa: { password: 'Test-Passw0rd', role: 'owner' } };
    for (const d of options.databases ?? []) this.createDatabase(d);
  }

  static async start(options: TestServerOptions = {}): Promise<TestSqlServer> {
    const server = createServer();
    const t = new TestSqlServer(server, options);
    server.on('connection', (socket) => t.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return t;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** A connection URL for a user of this server (password included, encryption off). */
  url(database: string, user = Object.keys(this.users)[0]!, more = ''): string {
    const password = encodeURIComponent(this.users[user]!.password);
    return `mssql://${encodeURIComponent(user)}:${password}@127.0.0.1:${this.port}/${encodeURIComponent(database)}?encrypt=false${more}`;
  }

  createDatabase(name: string): FakeDatabase {
    const db = new FakeDatabase(name, join(this.dir, `db-${this.databases.size}`));
    this.databases.set(name.toLowerCase(), db);
    return db;
  }

  /** Copies a database under a new name (a backup restored as a copy). */
  copyDatabase(from: string, to: string): FakeDatabase {
    const db = this.database(from).copyTo(to, join(this.dir, `db-${this.databases.size}-${Date.now()}`));
    this.databases.set(to.toLowerCase(), db);
    return db;
  }

  database(name: string): FakeDatabase {
    const db = this.databases.get(name.toLowerCase());
    if (!db) throw new Error(`no database ${name} on the test server`);
    return db;
  }

  dropDatabase(name: string): void {
    this.databases.get(name.toLowerCase())?.destroy();
    this.databases.delete(name.toLowerCase());
  }

  /** Adds a fault; returns a function that removes it. */
  addFault(fault: Fault): () => void {
    const f = { ...fault, left: fault.times ?? 1 };
    this.faults.push(f);
    return () => {
      const i = this.faults.indexOf(f);
      if (i >= 0) this.faults.splice(i, 1);
    };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    const debug = new Debug();
    const incoming = new IncomingMessageStream(debug);
    const outgoing = new OutgoingMessageStream(debug, { packetSize: 4096 });
    socket.pipe(incoming);
    outgoing.pipe(socket);
    socket.on('error', () => {});
    let session: FakeSession | null = null;
    socket.on('close', () => {
      this.sockets.delete(socket);
      session?.close();
    });
    const send = (tokens: Buffer[]) => {
      const m = new Message({ type: PACKET.REPLY });
      for (const t of tokens) m.write(t);
      m.end();
      outgoing.write(m);
    };
    let current: { request: Request; finished: Promise<void> } | null = null;

    const loop = async () => {
      for await (const message of incoming as AsyncIterable<Message>) {
        const chunks: Buffer[] = [];
        for await (const c of message) chunks.push(c as Buffer);
        const data = Buffer.concat(chunks);
        if (message.type === PACKET.ATTENTION) {
          if (current) {
            current.request.cancelled = true;
            await current.finished;
          }
          send([done(TOKEN.DONE, DONE_STATUS.ATTN)]);
          continue;
        }
        if (current) await current.finished;
        current = null;
        switch (message.type) {
          case PACKET.PRELOGIN: {
            const payload = new PreloginPayload({
              encrypt: false,
              version: { major: 16, minor: 0, build: 1000, subbuild: 0 },
            });
            const m = new Message({ type: PACKET.REPLY });
            m.end(this.options.requireEncryption ? requireEncryption(payload.data) : payload.data);
            outgoing.write(m);
            break;
          }
          case PACKET.LOGIN7: {
            const login = parseLogin7(data);
            const user = this.users[login.user];
            const db = this.databases.get(login.database.toLowerCase());
            if (!user || user.password !== login.password) {
              send([
                errorToken(
                  {
                    number: 18456,
                    state: 1,
                    severity: 14,
                    message: `Login failed for user '${login.user}'.`,
                  },
                  SERVER_NAME,
                ),
                done(TOKEN.DONE, DONE_STATUS.ERROR),
              ]);
              break;
            }
            if (!db) {
              send([
                errorToken(
                  {
                    number: 4060,
                    state: 1,
                    severity: 11,
                    message: `Cannot open database "${login.database}" requested by the login. The login failed.`,
                  },
                  SERVER_NAME,
                ),
                errorToken(
                  {
                    number: 18456,
                    state: 1,
                    severity: 14,
                    message: `Login failed for user '${login.user}'.`,
                  },
                  SERVER_NAME,
                ),
                done(TOKEN.DONE, DONE_STATUS.ERROR),
              ]);
              break;
            }
            session = new FakeSession(
              db,
              user.role ?? 'owner',
              {
                user: login.user,
                database: db.name,
                appName: login.appName,
                readOnlyIntent: login.readOnlyIntent,
              },
              login.readOnlyIntent && this.options.readOnlyIntentIsReadOnly === true,
            );
            this.sessions.push(session.log);
            send([
              loginAck(),
              envChangeString(1, db.name, 'master'),
              envChangeBytes(7, COLLATION, Buffer.alloc(0)),
              envChangeString(4, '4096', '4096'),
              done(TOKEN.DONE, DONE_STATUS.FINAL),
            ]);
            break;
          }
          case PACKET.SQL_BATCH:
          case PACKET.RPC: {
            const request: Request = { cancelled: false };
            const s = session!;
            const rpc = message.type === PACKET.RPC;
            current = { request, finished: this.execute(s, data, rpc, request, send, socket) };
            break;
          }
          case PACKET.TRANSACTION_MANAGER: {
            const t = parseTransactionRequest(data);
            const s = session!;
            try {
              if (t.kind === 'begin') {
                s.begin(ISOLATION_NAMES[t.isolation] ?? String(t.isolation));
                send([
                  envChangeBytes(8, descriptor(s), Buffer.alloc(0)),
                  done(TOKEN.DONE, DONE_STATUS.FINAL),
                ]);
              } else {
                const d = descriptor(s);
                if (t.kind === 'commit') s.commit();
                else s.rollback();
                send([
                  envChangeBytes(t.kind === 'commit' ? 9 : 10, Buffer.alloc(0), d),
                  done(TOKEN.DONE, DONE_STATUS.FINAL),
                ]);
              }
            } catch (error) {
              const e = error instanceof SqlServerError ? error : new SqlServerError(50000, String(error));
              const rolledBack = s.inTransaction;
              if (rolledBack) s.rollback();
              send([
                errorToken(e, SERVER_NAME),
                ...(rolledBack ? [envChangeBytes(10, Buffer.alloc(0), descriptor(s))] : []),
                done(TOKEN.DONE, DONE_STATUS.ERROR),
              ]);
            }
            break;
          }
          default:
            socket.destroy();
        }
      }
    };
    loop().catch(() => socket.destroy());
  }

  private fault(sql: string, params: Record<string, BoundValue>): (Fault & { left: number }) | undefined {
    const f = this.faults.find((x) => x.left > 0 && x.match({ sql, params }));
    if (f) f.left--;
    return f;
  }

  /** Runs a batch or an RPC, streaming each statement's results, and stops at the first error. */
  private async execute(
    s: FakeSession,
    data: Buffer,
    rpc: boolean,
    request: Request,
    send: (tokens: Buffer[]) => void,
    socket: Socket,
  ): Promise<void> {
    const tokens: Buffer[] = [];
    const inProc = rpc ? TOKEN.DONEINPROC : TOKEN.DONE;
    let sql: string;
    const params: Record<string, BoundValue> = {};
    s.resetBatch();
    try {
      if (rpc) {
        const call = parseRpc(data);
        if (call.procedure !== SP_EXECUTESQL && String(call.procedure).toLowerCase() !== 'sp_executesql') {
          throw new SqlServerError(2812, `Could not find stored procedure '${call.procedure}'.`);
        }
        const [statement, , ...values] = call.params;
        sql = String(statement?.value ?? '');
        for (const p of values) {
          params[p.name.toLowerCase()] = p.value;
          s.setVariable(p.name, p.value, null);
        }
      } else sql = parseSqlBatch(data);
      for (const statement of s.statements(sql)) {
        const text = render(statement);
        s.log.statements.push(text);
        const fault = this.fault(text, params);
        if (fault?.delayMs) {
          const until = Date.now() + fault.delayMs;
          while (Date.now() < until && !request.cancelled) await sleep(5);
        }
        if (request.cancelled) break;
        if (fault?.reset) {
          socket.destroy();
          return;
        }
        if (fault?.error)
          throw new SqlServerError(fault.error.number, fault.error.message, fault.error.severity ?? 16);
        const result = s.run(statement);
        if (result.kind === 'rows') {
          const { token, types } = colMetadata(result.columns);
          tokens.push(token, rowTokens(types, result.rows));
          tokens.push(done(inProc, DONE_STATUS.MORE | DONE_STATUS.COUNT, result.rows.length));
        } else if (result.kind === 'count') {
          tokens.push(done(inProc, DONE_STATUS.MORE | DONE_STATUS.COUNT, result.count, 0xc3));
        } else tokens.push(done(inProc, DONE_STATUS.MORE, 0, 0));
      }
      // A cancelled request still gets its own response (tedious reads one message per request,
      // then one for the attention with its acknowledgement).
      if (rpc) tokens.push(returnStatus(0), done(TOKEN.DONEPROC, DONE_STATUS.FINAL));
      else tokens.push(done(TOKEN.DONE, DONE_STATUS.FINAL));
    } catch (error) {
      const e =
        error instanceof SqlServerError
          ? error
          : new SqlServerError(50000, String((error as Error).message ?? error));
      tokens.push(errorToken(e, SERVER_NAME));
      // A deadlock victim's transaction is rolled back, as is any transaction under XACT_ABORT.
      if (s.inTransaction && (e.number === 1205 || s.log.xactAbort)) {
        const d = descriptor(s);
        s.rollback();
        tokens.push(envChangeBytes(10, Buffer.alloc(0), d));
      }
      tokens.push(done(rpc ? TOKEN.DONEPROC : TOKEN.DONE, DONE_STATUS.ERROR));
    }
    send(tokens);
  }
}

/** The 8-byte transaction descriptor of a session (constant per session: one transaction at a time). */
function descriptor(s: FakeSession): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(1 + (s.log.transactions.begun % 0xffff), 0);
  return b;
}

/** A PRELOGIN answer whose ENCRYPTION option says REQ (0x03). */
function requireEncryption(data: Buffer): Buffer {
  const out = Buffer.from(data);
  // Options: token (1), offset (2, BE), length (2, BE) ... 0xFF; ENCRYPTION is token 0x01.
  for (let i = 0; out[i] !== 0xff; i += 5) {
    if (out[i] === 0x01) out[out.readUInt16BE(i + 1)] = 0x03;
  }
  return out;
}

/** Starts a test server (see TestSqlServer). */
export function startTestServer(options: TestServerOptions = {}): Promise<TestSqlServer> {
  return TestSqlServer.start(options);
}
