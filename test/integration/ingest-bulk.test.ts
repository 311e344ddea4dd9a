// Bulk ranges on a TimescaleDB server (IOTCTL_TEST_DATABASE_URL with TimescaleDB 2.21+): a chunk range with no
// chunk yet is COPYed into a table of its own and attached as the chunk. Every case compares with the normal path
// (--no-bulk) or with what is stored, so that the bulk path cannot differ from it unnoticed. Elsewhere (embedded,
// plain, Citus) the same load writes straight into points, checked on the embedded target.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { encodeCopyBinary } from '../../src/ingest/loader.js';
import { BulkRange } from '../../src/ingest/bulk.js';
import { openDb } from '../../src/db/connect.js';
import { ingest, type IngestOptions } from '../../src/ingest/run.js';
import type { Db } from '../../src/db/types.js';
import { runCli } from '../helpers/cli.js';
import { ingestOptions } from '../helpers/ingest.js';
import { initTestStore } from '../helpers/store.js';
import { makeTarget, type TestTarget } from '../helpers/targets.js';

const tsdbServer = !!inject('externalUrl') && inject('externalEngine') === 'timescaledb';
const DAY = 86_400_000;
const START = Date.UTC(2024, 2, 1);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iotctl-bulk-'));

/** A long CSV: `devices` devices x 2 metrics every `stepS` seconds from `from` for `rows` readings. */
function writeCsv(
  name: string,
  rows: number,
  opts: { from?: number; stepS?: number; devices?: number; valueFor?: (n: number) => number } = {},
): string {
  const { from = START, stepS = 10, devices = 50, valueFor = (n) => (n % 1000) / 10 } = opts;
  const lines = ['time,device_id,metric,value'];
  for (let n = 0; n < rows; n++) {
    const series = n % (devices * 2);
    const step = Math.floor(n / (devices * 2));
    lines.push(
      `${new Date(from + step * stepS * 1000).toISOString()},dev-${series >> 1},${series & 1 ? 'humidity' : 'temperature'},${valueFor(n)}`,
    );
  }
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function chunkNames(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ chunk_name: string }>(
    "SELECT chunk_name FROM timescaledb_information.chunks WHERE hypertable_schema = 'iotctl' AND hypertable_name = 'points' ORDER BY range_start",
  );
  return rows.map((r) => r.chunk_name);
}

/** Every stored reading, as text, in a fixed order: the two paths must store exactly the same. */
async function stored(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ r: string }>(
    `SELECT s.device_id || ' ' || s.metric || ' ' || to_char(p.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || ' ' || p.value AS r
     FROM iotctl.points p JOIN iotctl.series s ON s.id = p.series_id ORDER BY s.device_id, s.metric, p.time`,
  );
  return rows.map((r) => r.r);
}

const bulkOptions = (files: string[], over: Partial<IngestOptions> = {}) =>
  ingestOptions(files, { batchSize: 20_000, bulk: true, ...over });

describe.skipIf(!tsdbServer)('bulk ranges on a TimescaleDB server', () => {
  const targets: TestTarget[] = [];
  const fresh = async (): Promise<Db> => {
    const t = await makeTarget('external');
    targets.push(t);
    const db = await t.open();
    await initTestStore(db);
    return db;
  };
  const opened: Db[] = [];
  const open = async () => {
    const db = await fresh();
    opened.push(db);
    return db;
  };

  afterAll(async () => {
    for (const db of opened) await db.close();
    for (const t of targets) await t.cleanup();
  });

  it('loads two new days in bulk, attaches them as chunks, and stores what the normal path stores', async () => {
    // 100 series every minute: 144,000 readings a day, 7,000 on the third day (fewer than a batch needs).
    const file = writeCsv('two-days.csv', 295_000, { stepS: 60 });
    const bulkDb = await open();
    const normalDb = await open();
    const bulk = await ingest(bulkDb, bulkOptions([file]));
    const normal = await ingest(normalDb, bulkOptions([file], { bulk: false }));
    const names = await chunkNames(bulkDb);
    expect(names.length).toBe(3);
    // The first two days were loaded in bulk; the third, with fewer rows than one batch needs, the normal way.
    expect(
      names.filter((n) => n.startsWith('points_bulk_20240301_') || n.startsWith('points_bulk_20240302_'))
        .length,
    ).toBe(2);
    expect((await chunkNames(normalDb)).some((n) => n.startsWith('points_bulk_'))).toBe(false);
    expect(bulk).toMatchObject({ read: 295_000, loaded: 295_000, duplicates: 0, rejected: 0 });
    expect({ read: bulk.read, loaded: bulk.loaded, duplicates: bulk.duplicates }).toEqual({
      read: normal.read,
      loaded: normal.loaded,
      duplicates: normal.duplicates,
    });
    expect(await stored(bulkDb)).toEqual(await stored(normalDb));
    // The attached chunk has the hypertable's unique index: a re-run loads nothing and counts every duplicate.
    const again = await ingest(bulkDb, bulkOptions([file]));
    expect(again).toMatchObject({ read: 295_000, loaded: 0, duplicates: 295_000 });
  });

  it('a batch with rows of more new ranges than can be open at once loads them all (it hung: a range was closed before its rows were sent)', async () => {
    // 40 series every 4 minutes, 14,400 readings a day: a 50,000-reading batch holds three days and a bit (at
    // most two ranges are open at once).
    const file = writeCsv('three-days.csv', 150_000, { stepS: 240, devices: 20, from: START + 30 * DAY });
    const bulkDb = await open();
    const normalDb = await open();
    const bulk = await ingest(bulkDb, bulkOptions([file], { batchSize: 50_000 }));
    const normal = await ingest(normalDb, bulkOptions([file], { batchSize: 50_000, bulk: false }));
    expect(bulk).toMatchObject({ read: 150_000, loaded: 150_000, duplicates: 0 });
    expect(normal).toMatchObject({ read: 150_000, loaded: 150_000, duplicates: 0 });
    expect(
      (await chunkNames(bulkDb)).filter((n) => n.startsWith('points_bulk_')).length,
    ).toBeGreaterThanOrEqual(3);
    expect(await stored(bulkDb)).toEqual(await stored(normalDb));
  }, 120_000);

  it('the CLI loads in bulk by default and --no-bulk writes every batch into points; --verbose says so', async () => {
    const file = writeCsv('cli.csv', 40_000, { stepS: 60, from: START + 50 * DAY });
    const bulkDb = await open();
    const bulkUrl = targets[targets.length - 1]!.spec;
    const normalDb = await open();
    const normalUrl = targets[targets.length - 1]!.spec;
    const bulk = await runCli(['ingest', '--db', bulkUrl, '--verbose', file]);
    expect(bulk.code).toBe(0);
    expect(bulk.stderr).toContain('loaded 1 new chunk(s) in bulk and attached them');
    const normal = await runCli(['ingest', '--db', normalUrl, '--verbose', '--no-bulk', file]);
    expect(normal.code).toBe(0);
    expect(normal.stderr).not.toContain('in bulk');
    expect((await chunkNames(bulkDb))[0]).toMatch(/^points_bulk_/);
    expect((await chunkNames(normalDb))[0]).toMatch(/^_hyper_/);
    expect(await stored(bulkDb)).toEqual(await stored(normalDb));
  });

  it('counts readings repeated in later batches of a bulk range as duplicates and keeps the first, as the normal path does', async () => {
    // Two files: the second repeats the first half of the first with other values; loaded as one ingest, the
    // repeats meet the first ones in the same bulk range's table.
    const first = writeCsv('dup-a.csv', 60_000, { stepS: 60 });
    const second = writeCsv('dup-b.csv', 30_000, { stepS: 60, valueFor: (n) => -n });
    const bulkDb = await open();
    const normalDb = await open();
    const bulk = await ingest(bulkDb, bulkOptions([first, second]));
    const normal = await ingest(normalDb, bulkOptions([first, second], { bulk: false }));
    expect((await chunkNames(bulkDb))[0]).toMatch(/^points_bulk_20240301_/);
    expect(bulk).toMatchObject({ read: 90_000, loaded: 60_000, duplicates: 30_000 });
    expect({ loaded: normal.loaded, duplicates: normal.duplicates }).toEqual({
      loaded: 60_000,
      duplicates: 30_000,
    });
    const rows = await stored(bulkDb);
    expect(rows).toEqual(await stored(normalDb));
    expect(rows.some((r) => r.endsWith(' -1'))).toBe(false);
  });

  it('leaves ranges that already have a chunk, the current range and --on-conflict update to the normal path', async () => {
    const db = await open();
    const old = writeCsv('old.csv', 40_000, { stepS: 60 });
    // One reading creates the day's chunk first: the 40,000 then go in the normal way, duplicates counted.
    const one = writeCsv('one.csv', 1, { stepS: 60 });
    await ingest(db, bulkOptions([one]));
    const s = await ingest(db, bulkOptions([old]));
    expect(s).toMatchObject({ loaded: 39_999, duplicates: 1 });
    expect((await chunkNames(db)).some((n) => n.startsWith('points_bulk_'))).toBe(false);
    // Readings of today: never held back in a bulk range.
    const now = Date.now();
    const today = writeCsv('today.csv', 20_000, {
      from: Math.max(Math.floor(now / DAY) * DAY, now - 300_000),
      stepS: 1,
    });
    expect(await ingest(db, bulkOptions([today]))).toMatchObject({ loaded: 20_000 });
    expect((await chunkNames(db)).some((n) => n.startsWith('points_bulk_'))).toBe(false);
    const later = writeCsv('later.csv', 40_000, { from: START + 10 * DAY, stepS: 60 });
    await ingest(db, bulkOptions([later], { onConflict: 'update' }));
    expect((await chunkNames(db)).some((n) => n.startsWith('points_bulk_'))).toBe(false);
  });

  it('a role that does not own points writes through the normal path: chunks it attached would not be maintainable', async () => {
    const db = await open();
    const url = targets[targets.length - 1]!.spec;
    const role = `iotctl_writer_${Math.random().toString(36).slice(2, 8)}`;
    await db.exec(`CREATE ROLE ${role} NOLOGIN;
      GRANT USAGE, CREATE ON SCHEMA iotctl TO ${role};
      GRANT ALL ON ALL TABLES IN SCHEMA iotctl TO ${role};
      GRANT ALL ON ALL SEQUENCES IN SCHEMA iotctl TO ${role};`);
    const u = new URL(url);
    u.searchParams.set('options', `-c role=${role}`);
    const writer = await openDb({ db: u.toString() });
    try {
      expect(
        (await writer.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user,
      ).toBe(role);
      const file = writeCsv('writer.csv', 40_000, { stepS: 60, from: START + 40 * DAY });
      expect(await ingest(writer, bulkOptions([file]))).toMatchObject({ read: 40_000, loaded: 40_000 });
      expect((await chunkNames(db)).some((n) => n.startsWith('points_bulk_'))).toBe(false);
    } finally {
      await writer.close();
      await db.exec(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });

  it('a range idle longer than the idle_in_transaction_session_timeout of the server survives (the server ended it)', async () => {
    const db = await open();
    const u = new URL(targets[targets.length - 1]!.spec);
    u.searchParams.set('options', '-c idle_in_transaction_session_timeout=300 -c statement_timeout=300');
    const strict = await openDb({ db: u.toString() });
    try {
      const sid = (
        await strict.query<{ id: number }>(
          "INSERT INTO iotctl.series (device_id, metric) VALUES ('idle', 'temperature') RETURNING id",
        )
      ).rows[0]!.id;
      const startUs = (START + 60 * DAY) * 1000;
      const payload = (from: number, n: number) => {
        const us = Float64Array.from({ length: n }, (_, i) => startUs + (from + i) * 60_000_000);
        const order = Uint32Array.from({ length: n }, (_, i) => i);
        return {
          buf: encodeCopyBinary(new Int32Array(n).fill(sid), us, new Float64Array(n).fill(1), order, n),
          first: { sid, us: us[0]! },
          last: { sid, us: us[n - 1]! },
        };
      };
      const range = new BulkRange(strict, startUs, startUs + DAY * 1000);
      const a = payload(0, 500);
      await range.send(a.buf, 500, a.first, a.last);
      await new Promise((r) => setTimeout(r, 1000));
      const b = payload(500, 500);
      await range.send(b.buf, 500, b.first, b.last);
      expect(await range.close()).toEqual({ loaded: 1000, duplicates: 0, attached: true });
    } finally {
      await strict.close();
    }
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM iotctl.points');
    expect(rows[0]!.n).toBe(1000);
  });

  it('inserts a range whose chunk appeared while it was open (another ingest) instead of attaching it', async () => {
    const db = await open();
    const sid = (
      await db.query<{ id: number }>(
        "INSERT INTO iotctl.series (device_id, metric) VALUES ('race', 'temperature') RETURNING id",
      )
    ).rows[0]!.id;
    const startUs = (START + 20 * DAY) * 1000;
    const n = 1000;
    const sids = new Int32Array(n).fill(sid);
    const us = new Float64Array(n);
    const value = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      us[i] = startUs + i * 60_000_000;
      value[i] = i;
    }
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    const range = new BulkRange(db, startUs, startUs + DAY * 1000);
    await range.send(
      encodeCopyBinary(sids, us, value, order, n),
      n,
      { sid, us: us[0]! },
      { sid, us: us[n - 1]! },
    );
    // Another connection stores one of the range's readings, with another value: that creates the chunk.
    const other = new pg.Client({ connectionString: targets[targets.length - 1]!.spec });
    await other.connect();
    await other.query('INSERT INTO iotctl.points (time, series_id, value) VALUES ($1, $2, -5)', [
      new Date(us[10]! / 1000),
      sid,
    ]);
    await other.end();
    const result = await range.close();
    expect(result).toEqual({ loaded: n - 1, duplicates: 1, attached: false });
    const { rows } = await db.query<{ n: number; v: number }>(
      'SELECT count(*)::int AS n, min(value) AS v FROM iotctl.points WHERE series_id = $1',
      [sid],
    );
    expect(rows[0]).toEqual({ n, v: -5 });
    expect((await chunkNames(db)).some((c) => c.startsWith('points_bulk_'))).toBe(false);
    const left = await db.query(
      "SELECT 1 FROM pg_tables WHERE schemaname = 'iotctl' AND tablename LIKE 'points\\_bulk\\_%'",
    );
    expect(left.rows).toEqual([]);
  });

  it('records the rollup invalidation of an attached range below the refresh watermark (attach_chunk records none)', async () => {
    const db = await open();
    // Materialise an empty March first: the invalidation threshold moves past the range, as it has on a store
    // whose refresh policies ran before a history load.
    for (const view of ['rollup_1m', 'rollup_1h', 'rollup_1d'])
      await db.query(`CALL refresh_continuous_aggregate('iotctl.${view}', '2024-02-01', '2024-05-01')`);
    const file = writeCsv('late.csv', 40_000, { stepS: 60 });
    const s = await ingest(db, bulkOptions([file]));
    expect(s.loaded).toBe(40_000);
    expect((await chunkNames(db))[0]).toMatch(/^points_bulk_/);
    await db.query("CALL refresh_continuous_aggregate('iotctl.rollup_1m', '2024-02-01', '2024-05-01')");
    // What the refresh materialised, not the real-time union with raw readings (which would hide a miss).
    await db.query('ALTER MATERIALIZED VIEW iotctl.rollup_1m SET (timescaledb.materialized_only = true)');
    const { rows } = await db.query<{ n: string }>(
      "SELECT sum(count)::bigint AS n FROM iotctl.rollup_1m WHERE bucket >= '2024-02-01' AND bucket < '2024-05-01'",
    );
    expect(Number(rows[0]!.n)).toBe(40_000);
  });
});

describe('bulk ranges elsewhere', () => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget('embedded');
    db = await target.open();
    await initTestStore(db, 'none');
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes straight into points on the embedded database (one connection: a range could not hold its own)', async () => {
    const file = writeCsv('embedded.csv', 30_000, { stepS: 60 });
    const s = await ingest(db, bulkOptions([file]));
    expect(s).toMatchObject({ read: 30_000, loaded: 30_000 });
    const { rows } = await db.query<{ chunk_name: string }>(
      "SELECT chunk_name FROM timescaledb_information.chunks WHERE hypertable_name = 'points'",
    );
    expect(rows.length).toBe(1);
    expect(rows[0]!.chunk_name).toMatch(/^_hyper_/);
  });
});
