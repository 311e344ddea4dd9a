// Retention must not lose rollup history (TimescaleDB refresh windows; plain-mode caps), and plain-mode
// staleness: late readings mark the finest rollup dirty and the next refresh carries them through every rollup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init } from '../../src/maintenance/init.js';
import { jobs, runJobNow } from '../../src/maintenance/jobs.js';
import { MAINTENANCE_LOCK_KEY, maintain } from '../../src/maintenance/maintain.js';
import { retentionRun } from '../../src/maintenance/retention.js';
import { rollupRefresh } from '../../src/maintenance/rollups.js';
import { partitionsSql } from '../../src/db/sql/partitions.js';
import { loadStore } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { setPolicy } from '../../src/maintenance/policies.js';
import { parseDuration } from '../../src/util/duration.js';
import { ensureDaysBack, initOptions, initTestStore } from '../helpers/store.js';
import { makeTarget, type TestTarget } from '../helpers/targets.js';
import { seedReadings } from './maintenance-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const rollupRows = async (db: Db, rollup: string, where: string, values: unknown[] = []) =>
  (
    await db.query<{ n: number; c: number }>(
      `SELECT count(*)::int AS n, coalesce(sum(count), 0)::int AS c FROM iotctl.${rollup} WHERE ${where}`,
      values,
    )
  ).rows[0]!;

describe('rollup history on the embedded (TimescaleDB) target', () => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget('embedded');
    db = await target.open();
    await initTestStore(db, '1h,1d');
    await seedReadings(db, 40, '2 hours');
    await rollupRefresh(db, [], {});
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('raw retention does not delete rollup history; refresh policies start inside the retention', async () => {
    const old = "bucket < now() - interval '32 days'";
    const hourly = await rollupRows(db, 'rollup_1h', old);
    const daily = await rollupRows(db, 'rollup_1d', old);
    expect(hourly.n).toBeGreaterThan(0);
    expect(daily.n).toBeGreaterThan(0);

    const store = await loadStore(db);
    // Too short for rollup_1h (its refresh window must fit inside): refused before anything changes.
    await expect(setPolicy(db, store, 'retention', 'points', parseDuration('4h'))).rejects.toMatchObject({
      exitCode: 2,
    });
    await setPolicy(db, store, 'retention', 'points', parseDuration('30d'));
    const offsets = await db.query<{ rollup: string; start: string | null }>(
      `SELECT hypertable_name AS rollup, config->>'start_offset' AS start FROM timescaledb_information.jobs
        WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY 1`,
    );
    // 30 days less two 1-hour buckets for rollup_1h; rollup_1d's source (rollup_1h) keeps everything.
    expect(offsets.rows.map((r) => [r.rollup, r.start])).toEqual([
      ['rollup_1d', null],
      ['rollup_1h', '718:00:00'],
    ]);

    await maintain(db, { dryRun: false, force: true }); // drops the raw chunks older than 30 days
    expect(
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM iotctl.points WHERE time < now() - interval '31 days'`,
        )
      ).rows[0]!.n,
    ).toBe(0);
    await maintain(db, { dryRun: false, force: true }); // refreshes again, after drop_chunks' invalidations
    await rollupRefresh(db, [], { all: true }); // a manual refresh is clamped the same way
    expect(await rollupRows(db, 'rollup_1h', old)).toEqual(hourly);
    expect(await rollupRows(db, 'rollup_1d', old)).toEqual(daily);

    // Removing the retention opens the refresh window again.
    const { removePolicy } = await import('../../src/maintenance/policies.js');
    await removePolicy(db, store, 'retention', 'points');
    const reopened = await db.query<{ start: string | null }>(
      `SELECT config->>'start_offset' AS start FROM timescaledb_information.jobs
        WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = 'rollup_1h'`,
    );
    expect(reopened.rows).toEqual([{ start: null }]);
  });

  it('refresh jobs run finest first even after a policy change gives the finest the newest job id', async () => {
    const store = await loadStore(db);
    await setPolicy(db, store, 'refresh', 'rollup_1h', parseDuration('30m'));
    const refresh = (await jobs(db)).filter((j) => j.kind === 'refresh');
    expect(refresh.map((j) => j.name)).toEqual(['refresh:rollup_1h', 'refresh:rollup_1d']);
    expect(refresh[0]!.id!).toBeGreaterThan(refresh[1]!.id!);
    const dry = await maintain(db, { dryRun: true, force: true });
    expect(dry.jobs.map((j) => j.job).slice(0, 2)).toEqual(['refresh:rollup_1h', 'refresh:rollup_1d']);
  });

  it('init applies a changed --retention through the policy and reports it', async () => {
    const first = await init(db, initOptions({ rollups: '1h,1d', retention: parseDuration('20d') }));
    const row = (o: typeof first) => o.objects.find((x) => x.object.startsWith('retention policy'));
    expect(row(first)?.status).toMatch(/^(created|updated)$/);
    const changed = await init(db, initOptions({ rollups: '1h,1d', retention: parseDuration('25d') }));
    expect(row(changed)).toMatchObject({ status: 'updated' });
    const { rows } = await db.query<{ after: string }>(
      `SELECT config->>'drop_after' AS after FROM timescaledb_information.jobs
        WHERE proc_name = 'policy_retention' AND hypertable_name = 'points'`,
    );
    expect(rows).toEqual([{ after: '25 days' }]);
    const same = await init(db, initOptions({ rollups: '1h,1d', retention: parseDuration('25d') }));
    expect(row(same)).toMatchObject({ status: 'exists', note: 'unchanged' });
  });
});

describe('rollup staleness on the server (plain) target', () => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget('server');
    db = await target.open();
    await ensureDaysBack(db, await initTestStore(db, '1h,1d'), 12);
    await seedReadings(db, 10, '10 minutes');
    await rollupRefresh(db, [], {});
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  const dirty = async () =>
    (
      await db.query<{ key: string; from: Date }>(
        `SELECT key, (value->>'from')::timestamptz AS from FROM iotctl.meta WHERE key LIKE 'dirty:%' ORDER BY key`,
      )
    ).rows;

  it('init --dry-run shows the staleness trigger; a second init leaves it as it is', async () => {
    const dry = await init(db, initOptions({ rollups: '1h,1d', dryRun: true }));
    expect(dry.sql.join('\n')).not.toMatch(/CREATE TRIGGER/);
    const fresh = await makeTarget('server');
    const other = await fresh.open();
    try {
      const plan = await init(other, initOptions({ rollups: '1h,1d', dryRun: true }));
      expect(plan.sql.join('\n')).toMatch(
        /CREATE TRIGGER points_mark_dirty_insert AFTER INSERT ON iotctl\.points/,
      );
    } finally {
      await other.close();
      await fresh.cleanup();
    }
  });

  it('parallel inserts above the watermark do not write a dirty row', async () => {
    const now = Date.now();
    await Promise.all(
      [1, 2, 3, 4].map((i) =>
        db.transaction((tx) =>
          tx.query('INSERT INTO iotctl.points VALUES ($1, 1, 7), ($2, 2, 7)', [
            new Date(now + i * 1000),
            new Date(now + i * 1000),
          ]),
        ),
      ),
    );
    expect(await dirty()).toEqual([]);
  });

  it('a late reading below the watermark marks rollup_1h dirty; the next refresh puts it in every rollup', async () => {
    const late = new Date(Math.floor(Date.now() / HOUR) * HOUR - 50 * HOUR + 7 * 60_000);
    const daily = await rollupRows(
      db,
      'rollup_1d',
      "bucket = date_bin('1 day', $1::timestamptz, TIMESTAMPTZ '2000-01-03') AND series_id = 1",
      [late],
    );
    await db.query('INSERT INTO iotctl.points VALUES ($1, 1, 5000)', [late]);
    expect(await dirty()).toEqual([{ key: 'dirty:rollup_1h', from: late }]);

    // Retention of the raw data is held back to where rollup_1h is exact.
    const dry = await retentionRun(db, { olderThan: parseDuration('1d'), dryRun: true, yes: false });
    expect(dry.heldBack).toEqual({ rollup: 'rollup_1h', until: late });
    expect(dry.chunks.every((c) => new Date(c.rangeEnd).getTime() <= late.getTime())).toBe(true);
    const uncapped = (await db.query(partitionsSql(dry.cutoff))).rowCount;
    expect(dry.chunks.length).toBeLessThan(uncapped);

    await rollupRefresh(db, [], {});
    const hour = await db.query<{ max: number }>(
      `SELECT max FROM iotctl.rollup_1h WHERE series_id = 1 AND bucket = date_bin('1 hour', $1::timestamptz, TIMESTAMPTZ '2000-01-03')`,
      [late],
    );
    expect(hour.rows).toEqual([{ max: 5000 }]);
    const day = await db.query<{ max: number; count: number }>(
      `SELECT max, count::int AS count FROM iotctl.rollup_1d WHERE series_id = 1 AND bucket = date_bin('1 day', $1::timestamptz, TIMESTAMPTZ '2000-01-03')`,
      [late],
    );
    expect(day.rows).toEqual([{ max: 5000, count: daily.c + 1 }]);
    expect(await dirty()).toEqual([]);
    const after = await retentionRun(db, { olderThan: parseDuration('1d'), dryRun: true, yes: false });
    expect(after.heldBack).toBeNull();
  });

  it('an upsert that corrects an old reading (as ingest --on-conflict update does) marks it dirty too', async () => {
    const old = new Date(Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR);
    await db.query('INSERT INTO iotctl.points VALUES ($1, 2, 1) ON CONFLICT DO NOTHING', [old]);
    await rollupRefresh(db, [], {});
    expect(await dirty()).toEqual([]);
    await db.query(
      `INSERT INTO iotctl.points AS p VALUES ($1, 2, 4242) ON CONFLICT (series_id, time)
       DO UPDATE SET value = EXCLUDED.value WHERE p.value IS DISTINCT FROM EXCLUDED.value`,
      [old],
    );
    expect(await dirty()).toEqual([{ key: 'dirty:rollup_1h', from: old }]);
    await rollupRefresh(db, [], {});
    const { rows } = await db.query<{ max: number }>(
      'SELECT max FROM iotctl.rollup_1h WHERE series_id = 2 AND bucket = $1',
      [old],
    );
    expect(rows).toEqual([{ max: 4242 }]);
  });

  it('rollup refresh 1d --since recomputes rollup_1h first over the same window', async () => {
    const back = new Date(Math.floor(Date.now() / HOUR) * HOUR - 70 * HOUR + 3 * 60_000);
    // Past the trigger (a restore, say): only --since finds it.
    await db.query('ALTER TABLE iotctl.points DISABLE TRIGGER USER');
    await db.query('INSERT INTO iotctl.points VALUES ($1, 3, 7777)', [back]);
    await db.query('ALTER TABLE iotctl.points ENABLE TRIGGER USER');
    const result = await rollupRefresh(db, ['1d'], { since: parseDuration('4d') });
    expect(result.map((r) => r.rollup)).toEqual(['rollup_1h', 'rollup_1d']);
    const { rows } = await db.query<{ max: number }>(
      `SELECT max FROM iotctl.rollup_1d WHERE series_id = 3 AND bucket = date_bin('1 day', $1::timestamptz, TIMESTAMPTZ '2000-01-03')`,
      [back],
    );
    expect(rows).toEqual([{ max: 7777 }]);
  });

  it('a refresh never recomputes a bucket whose source rows retention partly removed', async () => {
    // rollup_1h keeps 8 to 9 days, so that its cutoff falls at midday (whatever the time the test runs): the
    // oldest day of rollup_1d is partial there, and there are whole hours after the cutoff on that day.
    const sinceMidday = (((Date.now() - 12 * HOUR) % DAY) + DAY) % DAY;
    const cut = await retentionRun(db, {
      olderThan: parseDuration(`${Math.round((8 * DAY + sinceMidday) / 60_000)}m`),
      rollup: '1h',
      dryRun: false,
      yes: true,
    });
    expect(cut.dropped).toEqual(['iotctl.rollup_1h']);
    const straddled = new Date(Math.floor(cut.cutoff.getTime() / DAY) * DAY);
    const where = 'series_id = 1 AND bucket = $1';
    const before = await rollupRows(db, 'rollup_1d', where, [straddled]);
    expect(before.n).toBe(1);
    // A late reading in that day after the cutoff: rollup_1h recomputes it and marks rollup_1d dirty from there.
    const late = new Date(cut.cutoff.getTime() + HOUR + 60_000);
    expect(late.getTime()).toBeLessThan(straddled.getTime() + DAY);
    await db.query('INSERT INTO iotctl.points VALUES ($1, 1, 9000)', [late]);
    await rollupRefresh(db, [], {});
    expect(await rollupRows(db, 'rollup_1d', where, [straddled])).toEqual(before);
  });

  it('rollup refresh, retention run and jobs run take the maintenance lock: BUSY (exit 6) while it is held', async () => {
    const held = await db.tryAdvisoryLock(MAINTENANCE_LOCK_KEY);
    expect(held).not.toBeNull();
    const busy = { code: 'BUSY', exitCode: 6 };
    try {
      await expect(rollupRefresh(db, [], {})).rejects.toMatchObject(busy);
      await expect(
        retentionRun(db, { olderThan: parseDuration('9d'), dryRun: false, yes: true }),
      ).rejects.toMatchObject(busy);
      await expect(runJobNow(db, 'refresh:rollup_1h')).rejects.toMatchObject(busy);
      // A dry run changes nothing and needs no lock.
      await expect(
        retentionRun(db, { olderThan: parseDuration('9d'), dryRun: true, yes: false }),
      ).resolves.toMatchObject({ dryRun: true });
    } finally {
      await held!.release();
    }
  });

  it("maintain marks a run left 'running' by a killed process as failed (interrupted) and prunes old rows", async () => {
    await db.query(
      `INSERT INTO iotctl.job_runs (job, started_at, status) VALUES
         ('refresh:rollup_1d', now() - interval '1 hour', 'running'),
         ('refresh:rollup_1d', now() - interval '200 days', 'success')`,
    );
    await maintain(db, { dryRun: true, force: false });
    expect((await jobs(db)).find((j) => j.name === 'refresh:rollup_1d')!.lastStatus).toBe('running');
    await maintain(db, { dryRun: false, force: false });
    const { rows } = await db.query<{ status: string; error: string }>(
      `SELECT status, error FROM iotctl.job_runs WHERE job = 'refresh:rollup_1d' AND started_at < now() - interval '30 minutes'`,
    );
    expect(rows).toEqual([{ status: 'failed', error: 'interrupted: the run did not finish' }]);
    const listed = (await jobs(db)).find((j) => j.name === 'refresh:rollup_1d')!;
    expect(listed.totalFailures).toBe(1);
    expect(listed.lastError).toBe('interrupted: the run did not finish');
  });
});
