// `iotctl delete`: readings go, and so do the rollup buckets they fed (recomputed where a range cuts them),
// on compressed chunks too; a range whose edge cuts a bucket only the rollup still holds is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { deleteReadingsOf } from '../../src/maintenance/delete.js';
import { setPolicy } from '../../src/maintenance/policies.js';
import { rollupRefresh } from '../../src/maintenance/rollups.js';
import { loadStore } from '../../src/db/store.js';
import { parseDuration } from '../../src/util/duration.js';
import { ensureDaysBack, initTestStore } from '../helpers/store.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const HOUR = 3_600_000;
const base = Math.floor(Date.now() / HOUR) * HOUR;

async function seed(db: Db): Promise<void> {
  await db.query(`INSERT INTO iotctl.series (device_id, metric) VALUES ('gone', 'temp'), ('kept', 'temp')`);
  await db.query(
    `INSERT INTO iotctl.points (time, series_id, value)
     SELECT t, s.id, extract(minute FROM t) FROM iotctl.series s,
            generate_series($1::timestamptz, $2::timestamptz, interval '5 minutes') t`,
    // From a midnight: plain mode does not roll up a day its source holds only part of, whatever the hour.
    [new Date(Math.floor((base - 72 * HOUR) / (24 * HOUR)) * 24 * HOUR), new Date(base - 5 * 60_000)],
  );
}

/** Rollup rows of a series against the same aggregates computed from its raw readings. */
async function rollupMatchesRaw(db: Db, rollup: string, bucket: string, device: string) {
  const rolled = await db.query<{ bucket: Date; count: number; sum: number }>(
    `SELECT r.bucket, r.count::int AS count, r.sum FROM iotctl.${rollup} r JOIN iotctl.series s ON s.id = r.series_id
      WHERE s.device_id = $1 ORDER BY 1`,
    [device],
  );
  const raw = await db.query<{ bucket: Date; count: number; sum: number }>(
    `SELECT date_bin('${bucket}', p.time, TIMESTAMPTZ '2000-01-03') AS bucket, count(*)::int AS count, sum(p.value) AS sum
       FROM iotctl.points p JOIN iotctl.series s ON s.id = p.series_id
      WHERE s.device_id = $1 AND p.time < $2 GROUP BY 1 ORDER BY 1`,
    [device, new Date(base)],
  );
  const before = (rows: Array<{ bucket: Date }>) =>
    rows.filter((r) => new Date(r.bucket).getTime() < base - 24 * HOUR);
  return { rolled: before(rolled.rows), raw: before(raw.rows) };
}

describe.each(targetKinds)('iotctl delete on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    const store = await initTestStore(db, '1h,1d');
    await ensureDaysBack(db, store, 4);
    await seed(db);
    await rollupRefresh(db, [], { all: true });
    if (engineOf(kind) === 'timescaledb') {
      await db.query(
        `SELECT count(compress_chunk(c, true)) FROM show_chunks('iotctl.points', older_than => interval '1 day') c`,
      );
    }
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('--dry-run counts and changes nothing; a real run needs the same selection to find nothing after', async () => {
    const dry = await deleteReadingsOf(db, {
      filter: { devices: ['gone'] },
      since: null,
      until: null,
      dryRun: true,
    });
    const n = (
      await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM iotctl.readings WHERE device_id = 'gone'`)
    ).rows[0]!.n;
    expect(dry).toMatchObject({ dryRun: true, readings: n, seriesRemoved: null });
    expect(dry.series).toEqual([{ device: 'gone', metric: 'temp', readings: n, emptied: true }]);
    expect(dry.rollupRows.rollup_1h).toBeGreaterThan(0);
    const again = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM iotctl.readings WHERE device_id = 'gone'`,
    );
    expect(again.rows[0]!.n).toBe(n);
  });

  it('a whole device: its readings (compressed chunks too), its rollup rows and its series row go', async () => {
    const r = await deleteReadingsOf(db, {
      filter: { devices: ['gone'] },
      since: null,
      until: null,
      dryRun: false,
    });
    expect(r.seriesRemoved).toBe(1);
    const left = await db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM iotctl.series WHERE device_id = 'gone')
            + (SELECT count(*) FROM iotctl.rollup_1h WHERE series_id NOT IN (SELECT id FROM iotctl.series))
            + (SELECT count(*) FROM iotctl.rollup_1d WHERE series_id NOT IN (SELECT id FROM iotctl.series)) AS n`,
    );
    expect(Number(left.rows[0]!.n)).toBe(0);
    const kept = await rollupMatchesRaw(db, 'rollup_1h', '1 hour', 'kept');
    expect(kept.rolled.length).toBeGreaterThan(0);
    expect(kept.rolled).toEqual(kept.raw);
  });

  it('a range cut inside buckets: the readings go, the edge buckets are recomputed, the rest stays exact', async () => {
    const since = new Date(base - 60 * HOUR + 17 * 60_000);
    const until = new Date(base - 40 * HOUR + 42 * 60_000);
    const r = await deleteReadingsOf(db, { filter: { devices: ['kept'] }, since, until, dryRun: false });
    expect(r.readings).toBeGreaterThan(0);
    expect(r.seriesRemoved).toBe(0);
    const inRange = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM iotctl.readings WHERE device_id = 'kept' AND time >= $1 AND time < $2`,
      [since, until],
    );
    expect(inRange.rows[0]!.n).toBe(0);
    for (const [rollup, bucket] of [
      ['rollup_1h', '1 hour'],
      ['rollup_1d', '1 day'],
    ]) {
      const m = await rollupMatchesRaw(db, rollup as string, bucket as string, 'kept');
      expect(JSON.stringify(m.rolled), rollup).toBe(JSON.stringify(m.raw));
    }
  });

  it('refuses, before changing anything, an edge that cuts a bucket whose source retention removed', async () => {
    const store = await loadStore(db);
    await setPolicy(db, store, 'retention', 'points', parseDuration('2d'));
    await rollupRefresh(db, [], {});
    const before = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM iotctl.rollup_1h`);
    // 2 days 30 minutes back cuts an hour of rollup_1h whose raw readings retention (2 days) may have removed.
    const since = new Date(base - 50 * HOUR + 30 * 60_000);
    await expect(
      deleteReadingsOf(db, { filter: { devices: ['kept'] }, since, until: null, dryRun: false }),
    ).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/cuts the rollup_1h bucket/) });
    const after = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM iotctl.rollup_1h`);
    expect(after.rows).toEqual(before.rows);
  });
});
