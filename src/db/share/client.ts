// The embedded target when another iotctl process holds the data directory: the same Db, talking to the
// holder over its socket. A holder that exits between two statements hands over: the next statement
// opens the directory itself (or reaches the next holder). One that goes away during a statement is an
// error (BUSY, exit 6) that says so; ingest retries it like any lost connection.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { IotctlError } from '../../errors.js';
import { tryKeyLock, type LockRecord } from '../datadir-lock.js';
import { mapDbError } from '../errors.js';
import { DirectorySizesReader, isPlainRead } from '../dirsizes.js';
import { probeCapabilities } from '../probe.js';
import { Turns } from '../../util/turns.js';
import type { Capabilities, Db, QueryResult, Sql, StorageSize, Target, Tx } from '../types.js';

/** The holder is not there (any more) and nothing was sent: open the directory again. */
export class HolderGone extends Error {}

/** The same JS values as the engine in-process gives (PGlite's parsers), so output does not depend on the path. */
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => (v === null ? null : Number(v));
    if (oid === 1082) return (v: string) => (v === null ? null : new Date(v));
    if (oid === 1700 || oid === 1186) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

function toQuery(sql: Sql | string, values?: unknown[]): { text: string; values?: unknown[] } {
  return typeof sql === 'string' ? { text: sql, values } : { text: sql.text, values: sql.values };
}

export async function keyLock(dir: string, key: bigint) {
  const held = tryKeyLock(dir, key);
  if (!held) return null;
  return {
    release: async () => {
      held.release();
    },
  };
}

class SharedDb implements Db {
  readonly maxParallel = 1;
  private caps?: Promise<Capabilities>;
  private readonly turns = new Turns();
  private readonly files: DirectorySizesReader;
  lost = false;

  constructor(
    readonly target: Target,
    private readonly client: pg.Client,
    private readonly holder: LockRecord,
  ) {
    this.files = new DirectorySizesReader(this, target.dataDir as string);
    client.on('error', () => (this.lost = true));
    client.on('end', () => (this.lost = true));
  }

  private failure(err: unknown): IotctlError {
    if (!this.lost) return mapDbError(err, this.target);
    const dir = this.target.dataDir as string;
    const cause = Object.assign(new Error((err as Error)?.message ?? String(err)), { code: '08006' });
    return new IotctlError(
      'BUSY',
      `the iotctl process (pid ${this.holder.pid}) that shares ${dir} stopped during this command`,
      { hint: 'what was committed is kept; run the command again', cause },
    );
  }

  private async run<R>(sql: Sql | string, values?: unknown[]): Promise<QueryResult<R>> {
    try {
      const res = await this.client.query(toQuery(sql, values));
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    } catch (err) {
      throw this.failure(err);
    }
  }

  query<R>(sql: Sql | string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.turns.run(() => {
      if (this.lost) throw new HolderGone();
      return this.run<R>(sql, values).finally(() => {
        if (!isPlainRead(typeof sql === 'string' ? sql : sql.text)) this.files.changed();
      });
    });
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.turns.run(async () => {
      if (this.lost) throw new HolderGone();
      const tx: Tx = {
        query: (sql, values) => this.run(sql, values),
        copyFrom: async (copySql, payload) => {
          const stream = this.client.query(copyFrom(copySql));
          try {
            await pipeline(
              Readable.from([typeof payload === 'string' ? Buffer.from(payload) : payload]),
              stream,
            );
          } catch (err) {
            throw this.failure(err);
          }
          return stream.rowCount ?? 0;
        },
      };
      await this.run('BEGIN');
      try {
        const result = await fn(tx);
        await this.run('COMMIT');
        return result;
      } catch (err) {
        if (!this.lost) await this.client.query('ROLLBACK').catch(() => undefined);
        throw err instanceof IotctlError ? err : this.failure(err);
      } finally {
        this.files.changed();
      }
    });
  }

  tryAdvisoryLock(key: bigint) {
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
    await this.client.end().catch(() => undefined);
  }
}

/** Connects to the holder's socket; HolderGone when nobody listens there (it is exiting, or died). */
export async function connectShared(target: Target, holder: LockRecord): Promise<SharedDb> {
  const client = new pg.Client({
    host: holder.socket,
    port: 5432,
    user: 'iotctl',
    database: 'iotctl',
    application_name: `iotctl (pid ${process.pid})`,
    types,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new HolderGone((err as Error).message);
  }
  return new SharedDb(target, client, holder);
}

/** Delegates to the Db of the moment, opening the directory again when the holder has handed over. */
export class HandoverDb implements Db {
  readonly maxParallel = 1;

  constructor(
    readonly target: Target,
    private current: Db,
    private readonly reopen: () => Promise<Db>,
  ) {}

  private async attempt<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn(this.current);
      } catch (err) {
        if (!(err instanceof HolderGone)) throw err;
        await this.current.close().catch(() => undefined);
        this.current = await this.reopen();
      }
    }
  }

  query<R>(sql: Sql | string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.attempt((db) => db.query<R>(sql, values));
  }
  exec(sql: string): Promise<void> {
    return this.attempt((db) => db.exec(sql));
  }
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.attempt((db) => db.transaction(fn));
  }
  tryAdvisoryLock(key: bigint) {
    return keyLock(this.target.dataDir as string, key);
  }
  storageSize(): Promise<StorageSize> {
    return this.attempt((db) => db.storageSize());
  }
  relationFileSizes(): Promise<ReadonlyMap<number, number> | null> {
    return this.attempt((db) => db.relationFileSizes());
  }
  capabilities(opts?: { refresh?: boolean }): Promise<Capabilities> {
    return this.attempt((db) => db.capabilities(opts));
  }
  close(): Promise<void> {
    return this.current.close();
  }
}
