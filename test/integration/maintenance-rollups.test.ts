// `rollup refresh`: continuous aggregates on TimescaleDB; iotctl's own refresh and watermark in plain mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollupRefresh } from '../../src/maintenance/rollups.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { ensureDaysBack, initTestStore } from '../helpers/store.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { seedReadings } from './maintenance-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What the hourly rollup must hold: the aggregate computed straight from the readings. */
const directHourly = `SELECT date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, series_id,
       count(*)::int AS count, sum(value) AS sum, min(value) AS min, max(value) AS max
  FROM iotctl.points WHERE time < $1 GROUP BY 1, 2 ORDER BY 1, 2`;

describe.each(targetKinds)('rollup refresh on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  const tsdb = engineOf(kind) === 'timescaledb';
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    await ensureDaysBack(db, await initTestStore(db, '1h,1d'), 12);
    await seedReadings(db, 3, '10 minutes');
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('rejects unknown rollups and --since with --all', async () => {
    await expect(rollupRefresh(db, ['5m'], {})).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/unknown rollup '5m'/),
    });
    await expect(rollupRefresh(db, [], { all: true, since: parseDuration('1d') })).rejects.toMatchObject({
      exitCode: 2,
    });
  });

  it.runIf(tsdb)('refreshes the continuous aggregates finest first', async () => {
    const { rows } = await db.query<{ mat: string }>(
      `SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) AS mat
         FROM timescaledb_information.continuous_aggregates WHERE view_name = 'rollup_1h'`,
    );
    const mat = rows[0]!.mat;
    // A backfilled reading two days back reaches the materialised rows only through a refresh.
    const backfill = new Date(Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR - 15 * 60_000);
    await db.query('INSERT INTO iotctl.points VALUES ($1, 1, 1000)', [backfill]);
    const materialisedMax = async () =>
      (
        await db.query<{ max: number }>(
          `SELECT max(max) AS max FROM ${mat} WHERE series_id = 1 AND bucket = time_bucket(INTERVAL '1 hour', $1::timestamptz)`,
          [backfill],
        )
      ).rows[0]?.max;
    await db.query(`CALL refresh_continuous_aggregate('iotctl.rollup_1h', NULL, NULL)`);
    await db.query(`UPDATE iotctl.points SET value = 2000 WHERE series_id = 1 AND time = $1`, [backfill]);
    expect(await materialisedMax()).toBe(1000);
    const result = await rollupRefresh(db, [], {});
    expect(result.map((r) => r.rollup)).toEqual(['rollup_1h', 'rollup_1d']);
    expect(await materialisedMax()).toBe(2000);
    const complete = new Date(Math.floor(Date.now() / HOUR) * HOUR);
    const direct = await db.query(directHourly, [complete]);
    expect((await db.query(`SELECT 1 FROM ${mat} WHERE bucket < $1`, [complete])).rowCount).toBe(
      direct.rowCount,
    );
  });

  it.runIf(!tsdb)(
    'recomputes buckets up to a watermark that the query engine reads from iotctl.meta',
    async () => {
      const [hourly, daily] = await rollupRefresh(db, [], {});
      const complete = new Date(Math.floor(Date.now() / HOUR) * HOUR);
      expect(hourly).toMatchObject({ rollup: 'rollup_1h', from: null, until: complete });
      const meta = await db.query<{ key: string; value: unknown }>(
        `SELECT key, value FROM iotctl.meta WHERE key LIKE 'watermark:%' ORDER BY key`,
      );
      const dayStart = new Date(Math.floor(complete.getTime() / DAY) * DAY);
      expect(meta.rows).toEqual([
        { key: 'watermark:rollup_1d', value: { until: dayStart.toISOString() } },
        { key: 'watermark:rollup_1h', value: { until: complete.toISOString() } },
      ]);
      expect(daily!.until).toEqual(dayStart);
      const stored = await db.query(
        'SELECT bucket, series_id, count::int AS count, sum, min, max FROM iotctl.rollup_1h ORDER BY 1, 2',
      );
      expect(stored.rows).toEqual((await db.query(directHourly, [complete])).rows);
      const days = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM iotctl.rollup_1d d
         JOIN (SELECT date_bin(INTERVAL '1 day', bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS day, series_id, sum(count) AS c
                 FROM iotctl.rollup_1h WHERE bucket < $1 GROUP BY 1, 2) h
           ON h.day = d.bucket AND h.series_id = d.series_id AND h.c = d.count`,
        [dayStart],
      );
      expect(days.rows[0]!.n).toBe((await db.query('SELECT 1 FROM iotctl.rollup_1d')).rowCount);
    },
  );

  it.runIf(!tsdb)(
    'picks up late rows in the last bucket by default, older backfills with --since',
    async () => {
      const complete = Math.floor(Date.now() / HOUR) * HOUR;
      const late = new Date(complete - 15 * 60_000); // inside the last complete hour
      const backfill = new Date(complete - 48 * HOUR - 15 * 60_000); // two days back, below the watermark
      // Written past the staleness trigger (as a restore or a hand-made table swap would), so only --since finds it.
      // Citus has no trigger to pass (and refuses the ALTER TABLE … TRIGGER on a distributed table).
      const triggers = engineOf(kind) !== 'citus';
      if (triggers) await db.query('ALTER TABLE iotctl.points DISABLE TRIGGER USER');
      await db.query('INSERT INTO iotctl.points VALUES ($1, 1, 1000), ($2, 1, 1000)', [late, backfill]);
      if (triggers) await db.query('ALTER TABLE iotctl.points ENABLE TRIGGER USER');
      const maxAt = async (t: Date) =>
        (
          await db.query<{ max: number }>(
            `SELECT max FROM iotctl.rollup_1h WHERE series_id = 1 AND bucket = date_bin(INTERVAL '1 hour', $1::timestamptz, TIMESTAMPTZ '2000-01-03 00:00:00+00')`,
            [t],
          )
        ).rows[0]?.max;
      await rollupRefresh(db, ['1h'], {});
      expect(await maxAt(late)).toBe(1000);
      expect(await maxAt(backfill)).not.toBe(1000);
      await rollupRefresh(db, ['rollup_1h'], { since: parseDuration('3d') });
      expect(await maxAt(backfill)).toBe(1000);
      const stored = await db.query(
        'SELECT bucket, series_id, count::int AS count, sum, min, max FROM iotctl.rollup_1h ORDER BY 1, 2',
      );
      expect(stored.rows).toEqual((await db.query(directHourly, [new Date(complete)])).rows);
    },
  );

  it.runIf(!tsdb)(
    'retention on a plain rollup deletes exactly the buckets that end before the cutoff',
    async () => {
      const { retentionRun } = await import('../../src/maintenance/retention.js');
      // Plain retention of rollup_1h waits for rollup_1d to take its rows in: bring both up to date.
      await rollupRefresh(db, [], {});
      const dry = await retentionRun(db, {
        olderThan: parseDuration('2d'),
        rollup: '1h',
        dryRun: true,
        yes: false,
      });
      const old = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM iotctl.rollup_1h WHERE bucket + interval '1 hour' <= $1`,
        [dry.cutoff],
      );
      expect(old.rows[0]!.n).toBeGreaterThan(0);
      expect(dry.chunks).toEqual([
        expect.objectContaining({ chunk: 'iotctl.rollup_1h', rowsEstimate: old.rows[0]!.n }),
      ]);
      const all = (await db.query<{ bucket: Date }>('SELECT * FROM iotctl.rollup_1h ORDER BY 1, 2')).rows;
      const real = await retentionRun(db, {
        olderThan: parseDuration('2d'),
        rollup: 'rollup_1h',
        dryRun: false,
        yes: true,
      });
      expect(real.dropped).toEqual(['iotctl.rollup_1h']);
      const left = (await db.query('SELECT * FROM iotctl.rollup_1h ORDER BY 1, 2')).rows;
      const survivors = all.filter((r) => new Date(r.bucket).getTime() + 3_600_000 > real.cutoff.getTime());
      expect(left.length).toBeGreaterThan(0);
      expect(left).toEqual(survivors);
    },
  );
});
