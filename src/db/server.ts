// The server target: a pg Pool; bulk COPY through pg-copy-streams on a dedicated client.
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IotctlError } from '../errors.js';
import { isRepeatableRead, isWorkerTransientError, mapDbError } from './errors.js';
import { probeCapabilities } from './probe.js';
import { redact } from './redact.js';
import type { Capabilities, Db, QueryResult, Sql, StorageSize, Target, Tx } from './types.js';

// Same JS types on both targets: bigint and numeric as numbers (counts and sizes stay far below 2^53).
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20 || oid === 1700) return (v: string) => (v === null ? null : Number(v));
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const ignoreClientError = () => undefined;

/** Times a read that failed on a Citus worker is run again, and the wait before the first (then doubled). */
const READ_RETRIES = 2;
const READ_RETRY_WAIT_MS = 250;

function toQuery(sql: Sql | string, values?: unknown[]): { text: string; values?: unknown[] } {
  return typeof sql === 'string' ? { text: sql, values } : { text: sql.text, values: sql.values };
}

class ServerDb implements Db {
  readonly maxParallel: number;
  private caps?: Promise<Capabilities>;

  constructor(
    readonly target: Target,
    private readonly pool: pg.Pool,
    poolSize: number,
    private readonly onRetry?: (message: string) => void,
  ) {
    this.maxParallel = poolSize;
  }

  async query<R>(sql: Sql | string, values?: unknown[]): Promise<QueryResult<R>> {
    const q = toQuery(sql, values);
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.pool.query(q);
        return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
      } catch (err) {
        // A read that failed on a Citus worker changed nothing: run it again, at most twice.
        if (attempt > READ_RETRIES || !isWorkerTransientError(err) || !isRepeatableRead(q.text))
          throw mapDbError(err, this.target);
        this.onRetry?.(
          `a worker failed during a read, running it again (attempt ${attempt + 1} of ${READ_RETRIES + 1}): ${redact((err as Error).message, this.target)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_WAIT_MS * attempt));
      }
    }
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapDbError(err, this.target);
    }
    const target = this.target;
    let broken = false;
    // A server that goes away mid-transaction makes the checked-out client emit 'error' (the pending
    // query rejects as well); without a listener that event would crash the process. It also tells that
    // the connection is gone, whatever shape the next error takes ("not queryable", a bare message).
    let lost = false;
    const onClientError = () => {
      lost = true;
    };
    client.on('error', onClientError);
    const tx: Tx = {
      async query<R>(sql: Sql | string, values?: unknown[]) {
        try {
          const res = await client.query(toQuery(sql, values));
          return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
        } catch (err) {
          throw mapDbError(err, target);
        }
      },
      async copyFrom(copySql: string, payload: Buffer | string) {
        const stream = client.query(copyFrom(copySql));
        try {
          await pipeline(
            Readable.from([typeof payload === 'string' ? Buffer.from(payload) : payload]),
            stream,
          );
        } catch (err) {
          throw mapDbError(err, target);
        }
        return stream.rowCount ?? 0;
      },
      async *copyTo(copySql: string) {
        const stream = client.query(copyTo(copySql));
        try {
          for await (const chunk of stream) yield chunk as Buffer;
        } catch (err) {
          throw mapDbError(err, target);
        } finally {
          // A consumer that stops early leaves the COPY running: the connection cannot be reused.
          if (!stream.readableEnded) {
            stream.destroy();
            broken = true;
          }
        }
      },
    };
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      const mapped = mapDbError(err, this.target);
      if (!lost || mapped.code === 'CONNECTION') throw mapped;
      const cause = mapped.cause ?? err;
      throw new IotctlError(
        'CONNECTION',
        `lost connection to ${target.display}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    } finally {
      client.removeListener('error', onClientError);
      client.release(broken || lost);
    }
  }

  async tryAdvisoryLock(key: bigint) {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapDbError(err, this.target);
    }
    // Held for the whole command: a server that goes away meanwhile must not crash the process.
    client.on('error', ignoreClientError);
    const done = (broken = false) => {
      client.removeListener('error', ignoreClientError);
      client.release(broken);
    };
    let res;
    try {
      res = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key.toString()]);
    } catch (err) {
      done(true);
      throw mapDbError(err, this.target);
    }
    if (!res.rows[0]?.ok) {
      done();
      return null;
    }
    return {
      release: async () => {
        try {
          await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]);
          done();
        } catch {
          // The session is gone, and its lock with it.
          done(true);
        }
      },
    };
  }

  async storageSize(): Promise<StorageSize> {
    const { rows } = await this.query<{ bytes: number }>(
      'SELECT pg_database_size(current_database())::bigint AS bytes',
    );
    return { databaseBytes: Number(rows[0]?.bytes ?? 0), dataDirectory: null };
  }

  async relationFileSizes(): Promise<null> {
    return null;
  }

  capabilities(opts: { refresh?: boolean } = {}): Promise<Capabilities> {
    if (opts.refresh) this.caps = undefined;
    this.caps ??= probeCapabilities(this, { needsPreload: true });
    return this.caps;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export async function openServerDb(
  target: Target,
  opts: { poolSize: number; onRetry?: (message: string) => void },
): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: Math.max(2, opts.poolSize),
    types,
    application_name: 'iotctl',
    connectionTimeoutMillis: 15_000,
    // Half-open connections (a server that vanished without a FIN) are noticed instead of hanging.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const db = new ServerDb(target, pool, Math.max(1, opts.poolSize), opts.onRetry);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw mapDbError(err, target);
  }
  return db;
}
