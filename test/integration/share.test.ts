// Sharing the embedded data directory: a second opener works through the process that holds it (the
// holder serves the database on a socket in the directory), with the same results, locks and errors.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { tryLockDir } from '../../src/db/datadir-lock.js';
import type { EmbeddedDb } from '../../src/db/embedded.js';
import { SOCKET_NAME } from '../../src/db/share/server.js';
import type { Db } from '../../src/db/types.js';
import { tempDataDir } from '../helpers/targets.js';

const lockRecord = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, 'iotctl.lock'), 'utf8')) as { pid: number; socket?: string };

describe('sharing the embedded data directory', () => {
  let dir: string;
  let holder: Db;
  const opened: Db[] = [];
  const open2 = async (at: string) => {
    const db = await openDb({ db: at });
    opened.push(db);
    return db;
  };
  const open = () => open2(dir);

  beforeEach(async () => {
    dir = tempDataDir();
    holder = await open();
    await holder.exec('CREATE TABLE t (a int PRIMARY KEY, b text)');
  });
  afterEach(async () => {
    for (const db of opened.splice(0).reverse()) await db.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the holder serves a socket of mode 0600 in the directory, named in its lock', async () => {
    const socket = path.join(dir, SOCKET_NAME);
    expect(fs.statSync(socket).isSocket()).toBe(true);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(lockRecord(dir)).toMatchObject({ pid: process.pid, socket: dir, sharing: true });
  });

  it("a client's COPY runs in the holder; a duplicate fails with 23505 and rolls its transaction back", async () => {
    const client = await open();
    const copied = await client.transaction((tx) => tx.copyFrom('COPY t (a, b) FROM STDIN', '1\tx\n2\ty\n'));
    expect(copied).toBe(2);
    await expect(
      client.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES (3, 'z')");
        return tx.copyFrom('COPY t (a, b) FROM STDIN', '1\tagain\n');
      }),
    ).rejects.toMatchObject({ cause: { code: '23505' } });
    const { rows } = await holder.query<{ a: number }>('SELECT a FROM t ORDER BY a');
    expect(rows).toEqual([{ a: 1 }, { a: 2 }]);
    // The same values as in-process: bigint counts as numbers, timestamps as Dates, intervals as text.
    const types =
      "SELECT (SELECT count(*) FROM t) AS n, now() AS t, interval '1 hour' AS i, 1.5::numeric AS d";
    const [mine, theirs] = [(await holder.query(types)).rows[0], (await client.query(types)).rows[0]];
    expect(Object.fromEntries(Object.entries(theirs!).map(([k, v]) => [k, typeof v]))).toEqual(
      Object.fromEntries(Object.entries(mine!).map(([k, v]) => [k, typeof v])),
    );
    expect(theirs).toMatchObject({ n: 2, i: mine!.i, d: mine!.d });
  });

  it('a large Bind arriving after its Parse keeps the unnamed statement (the engine is not handed on mid-cycle)', async () => {
    // It failed as "bind message supplies 2 parameters, but prepared statement \"\" requires 0": the
    // turn was given back after the Parse, and the holder's own statement replaced the unnamed one.
    const client = await open();
    for (const n of [1_000, 100_000]) {
      const names = Array.from({ length: n }, (_, i) => `device-${i}`);
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM unnest($1::text[]) AS u(x) WHERE x <> $2',
        [names, 'none'],
      );
      expect(rows).toEqual([{ n }]);
    }
  });

  it("a client waits for the holder's transaction, and the holder for a client's", async () => {
    const client = await open();
    const order: string[] = [];
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const txDone = holder.transaction(async (tx) => {
      await tx.query("INSERT INTO t VALUES (10, 'holder')");
      inside();
      await new Promise((r) => setTimeout(r, 300));
      order.push('holder commits');
    });
    await entered;
    const seen = client.query<{ n: number }>('SELECT count(*)::int AS n FROM t').then((r) => {
      order.push('client reads');
      return r.rows[0]!.n;
    });
    await txDone;
    expect(await seen).toBe(1);
    expect(order).toEqual(['holder commits', 'client reads']);
  });

  it('the maintenance lock (a key lock) excludes across the holder and its clients', async () => {
    const client = await open();
    const key = 42n;
    const held = await holder.tryAdvisoryLock(key);
    expect(held).not.toBeNull();
    expect(await client.tryAdvisoryLock(key)).toBeNull();
    await held!.release();
    const mine = await client.tryAdvisoryLock(key);
    expect(mine).not.toBeNull();
    expect(await holder.tryAdvisoryLock(key)).toBeNull();
    await mine!.release();
  });

  it('a holder that closes between statements hands over: the next statement opens the directory itself', async () => {
    const client = await open();
    await client.query("INSERT INTO t VALUES (1, 'before')");
    await holder.close();
    expect(fs.existsSync(path.join(dir, SOCKET_NAME))).toBe(false);
    await client.query("INSERT INTO t VALUES (2, 'after')");
    // The client is the holder now: it serves the directory in turn.
    expect(fs.existsSync(path.join(dir, SOCKET_NAME))).toBe(true);
    const third = await open();
    const { rows } = await third.query<{ a: number }>('SELECT a FROM t ORDER BY a');
    expect(rows).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('a holder closing waits for a client transaction in flight to commit', async () => {
    const client = await open();
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const tx = client.transaction(async (t) => {
      await t.query("INSERT INTO t VALUES (5, 'in flight')");
      inside();
      await new Promise((r) => setTimeout(r, 300));
      await t.query("INSERT INTO t VALUES (6, 'in flight')");
    });
    await entered;
    await holder.close();
    await tx;
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    expect(rows).toEqual([{ n: 2 }]);
  });

  it('a client that disconnects mid-transaction is rolled back; the engine is free for the others', async () => {
    const raw = new pg.Client({ host: dir, port: 5432, user: 'x', database: 'x' });
    await raw.connect();
    await raw.query('BEGIN');
    await raw.query("INSERT INTO t VALUES (7, 'left open')");
    (raw as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    await raw.end().catch(() => undefined);
    const { rows } = await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('a client idle in a transaction past the limit is rolled back and disconnected (25P03)', async () => {
    const own = holder as EmbeddedDb;
    await own.share!.close();
    await own.startSharing({ idleInTransactionMs: 300 });
    const raw = new pg.Client({ host: dir, port: 5432, user: 'x', database: 'x' });
    const gone = new Promise<Error>((resolve) => raw.on('error', resolve));
    await raw.connect();
    await raw.query('BEGIN');
    await raw.query("INSERT INTO t VALUES (8, 'forgotten')");
    const started = Date.now();
    // The holder's own statement waits for the client's transaction, and no longer than the limit.
    const { rows } = await holder.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    expect(rows).toEqual([{ n: 0 }]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await gone).toMatchObject({ code: '25P03' });
    await raw.end().catch(() => undefined);
  });

  it('a data directory too deep for a Unix socket path is served from a private directory under the temp dir', async () => {
    const deep = path.join(tempDataDir(), 'a-directory-name-long-enough'.repeat(4));
    try {
      const first = await openDb({ db: deep });
      opened.push(first);
      const socketDir = lockRecord(deep).socket!;
      expect(socketDir.startsWith(deep)).toBe(false);
      expect(fs.statSync(socketDir).mode & 0o777).toBe(0o700);
      const second = await open2(deep);
      expect((await second.query<{ n: number }>('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
    } finally {
      fs.rmSync(path.dirname(deep), { recursive: true, force: true });
    }
  });

  it('a lock without a socket whose holder does not share gives BUSY at once (as before sharing)', async () => {
    const other = tempDataDir();
    try {
      const lock = tryLockDir(other);
      if ('holder' in lock) throw new Error('expected the lock');
      const started = Date.now();
      await expect(openDb({ db: other })).rejects.toMatchObject({ code: 'BUSY', exitCode: 6 });
      expect(Date.now() - started).toBeLessThan(2_000);
      lock.release();
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
