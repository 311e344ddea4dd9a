// The first refresh of a long history in pieces: the rollups still equal the raw readings at every level,
// and on the embedded database the WAL the catch-up writes is recycled between pieces.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connect.js';
import { directoryBytes } from '../../src/db/pgdata.js';
import type { Db } from '../../src/db/types.js';
import type { RefreshProgress } from '../../src/engine/types.js';
import { REFRESH_WINDOW_MS, SERVER_REFRESH_WINDOW_MS } from '../../src/engine/windows.js';
import { maintain } from '../../src/maintenance/maintain.js';
import { rollupRefresh } from '../../src/maintenance/rollups.js';
import { ensurePartitions, initTestStore } from '../helpers/store.js';
import { makeTarget, targetKinds, tempDataDir, type TestTarget } from '../helpers/targets.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MB = 2 ** 20;

/** Readings of `series` series every `step` over [from, to), one transaction per 30 days as ingest would. */
async function seedHistory(db: Db, from: number, to: number, step: string, series: number) {
  await db.query(
    `INSERT INTO iotctl.series (device_id, metric, unit)
     SELECT 'hist-' || g, 'temp', 'C' FROM generate_series(1, $1::int) g`,
    [series],
  );
  for (let t = from; t < to; t += 30 * DAY) {
    await db.transaction((tx) =>
      tx.query(
        `INSERT INTO iotctl.points (time, series_id, value)
         SELECT t, s.id, s.id + 10 * sin(extract(epoch FROM t) / 5000) + (extract(epoch FROM t) / 60)::int % 11
           FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 microsecond', $3::interval) t,
                iotctl.series s`,
        [new Date(t), new Date(Math.min(t + 30 * DAY, to)), step],
      ),
    );
  }
}

/** Rows of a rollup against the same aggregates computed from the raw readings, up to `until`. */
async function rollupAgainstRaw(db: Db, rollup: string, bucket: string, until: Date) {
  const rolled = await db.query(
    `SELECT bucket, series_id, count::int AS count, sum, min, max FROM iotctl.${rollup}
      WHERE bucket < $1 ORDER BY 1, 2`,
    [until],
  );
  const raw = await db.query(
    `SELECT date_bin('${bucket}', time, TIMESTAMPTZ '2000-01-03') AS bucket, series_id, count(*)::int AS count,
            sum(value), min(value), max(value)
       FROM iotctl.points WHERE time < $1 GROUP BY 1, 2 ORDER BY 1, 2`,
    [until],
  );
  return { rolled: rolled.rows, raw: raw.rows };
}

describe.each(targetKinds)('a history refreshed in pieces on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  // Three years ago, for ten months, hourly; then the last two days.
  const historyFrom = Math.floor((Date.now() - 3 * 365 * DAY) / DAY) * DAY;
  const historyTo = historyFrom + 300 * DAY;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    const store = await initTestStore(db);
    await ensurePartitions(db, store, historyFrom, historyTo);
    await ensurePartitions(db, store, Date.now() - 3 * DAY, Date.now());
    await seedHistory(db, historyFrom, historyTo, '1 hour', 4);
    await db.query(
      `INSERT INTO iotctl.points (time, series_id, value)
       SELECT t, s.id, s.id FROM generate_series(date_trunc('hour', now()) - interval '2 days', now(), interval '10 minutes') t, iotctl.series s`,
    );
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('refreshes every rollup in pieces (a month embedded, a year on a server), oldest first, and the rollups equal raw data', async () => {
    const progress: RefreshProgress[] = [];
    const result = await rollupRefresh(db, [], { onProgress: (p) => progress.push(p) });
    expect(result.map((r) => r.rollup)).toEqual(['rollup_1m', 'rollup_1h', 'rollup_1d']);
    for (const rollup of ['rollup_1m', 'rollup_1h', 'rollup_1d']) {
      const mine = progress.filter((p) => p.rollup === rollup);
      // Ten months of history: ten pieces of 30 days on the embedded database, one of a year on a server,
      // then the last one up to now.
      const span = kind === 'embedded' ? REFRESH_WINDOW_MS : SERVER_REFRESH_WINDOW_MS;
      expect(mine.length, rollup).toBeGreaterThanOrEqual(Math.ceil((historyTo - historyFrom) / span) + 1);
      expect(mine.map((p) => p.index)).toEqual(mine.map((_, i) => i));
      expect(new Set(mine.map((p) => p.total))).toEqual(new Set([mine.length]));
      // Up to now (TimescaleDB: an open end; plain mode: the last whole bucket).
      const end = mine.at(-1)!.until;
      if (end) expect(Date.now() - end.getTime()).toBeLessThan(DAY);
      for (const p of mine.slice(0, -1)) {
        expect(p.until!.getTime() - p.from!.getTime()).toBeLessThanOrEqual(span + DAY);
      }
      for (let i = 1; i < mine.length - 1; i++)
        expect(mine[i]!.from!.getTime()).toBeGreaterThanOrEqual(mine[i - 1]!.until!.getTime());
    }
    const complete = new Date(Math.floor(Date.now() / DAY) * DAY);
    for (const [rollup, bucket] of [
      ['rollup_1m', '1 minute'],
      ['rollup_1h', '1 hour'],
      ['rollup_1d', '1 day'],
    ] as const) {
      const m = await rollupAgainstRaw(db, rollup, bucket, complete);
      expect(m.rolled.length, rollup).toBeGreaterThan(0);
      // Sums of sums add the same readings in another order: equal to the last few bits.
      const rounded = (rows: Array<Record<string, unknown>>) =>
        rows.map((r) => ({ ...r, sum: Number((r.sum as number).toPrecision(12)) }));
      expect(JSON.stringify(rounded(m.rolled)), rollup).toBe(JSON.stringify(rounded(m.raw)));
    }
  });

  it('a second refresh has no history left to do: one statement per rollup', async () => {
    const progress: RefreshProgress[] = [];
    await rollupRefresh(db, [], { onProgress: (p) => progress.push(p) });
    expect(progress.map((p) => p.total)).toEqual([1, 1, 1]);
  });
});

describe('the embedded write-ahead log during the first maintain of a long history', () => {
  let dir: string;
  let db: Db;
  afterAll(async () => {
    await db?.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeAll(() => {
    dir = tempDataDir();
  });

  it('regression: one refresh of the whole history kept its WAL (pg_wal as large as the catch-up wrote); pieces let it be recycled', async () => {
    db = await openDb({ db: dir });
    await initTestStore(db, '1m');
    const from = Math.floor((Date.now() - 2 * 365 * DAY) / DAY) * DAY;
    await seedHistory(db, from, from + 180 * DAY, '1 minute', 2);
    await db.exec('CHECKPOINT');
    const lsn = async () => {
      const { rows } = await db.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      const [hi, lo] = rows[0]!.lsn.split('/');
      return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
    };
    const start = await lsn();
    const run = await maintain(db, { dryRun: false, force: true });
    expect(run.jobs.map((j) => [j.job, j.status])).toEqual([['refresh:rollup_1m', 'success']]);
    const written = Number((await lsn()) - start);
    await db.close();
    const wal = await directoryBytes(path.join(dir, 'pgdata', 'pg_wal'));
    expect(written).toBeGreaterThan(100 * MB);
    expect(wal).toBeLessThan(64 * MB);
  });
});
