// `iotctl series`: every stored series with unit, tags, first and last reading and its reading count,
// counted exactly through the rollups (agg's planner), or estimated from the cadence without rollups.
import { markDirtyBelowWatermark } from '../../src/db/sql/citus.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollupRefresh } from '../../src/maintenance/rollups.js';
import type { Db } from '../../src/db/types.js';
import { listSeries } from '../../src/query/series.js';
import { loadStore } from '../../src/db/store.js';
import { ensureDaysBack, initTestStore } from '../helpers/store.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';

const HOUR = 3_600_000;

async function seed(db: Db): Promise<void> {
  await db.query(
    `INSERT INTO iotctl.series (device_id, metric, unit, tags) VALUES
       ('hall-1', 'temperature', '°C', '{"floor": 1}'), ('hall-1', 'humidity', '%', NULL),
       ('yard', 'temperature', '°C', NULL), ('empty', 'temperature', NULL, NULL)`,
  );
  // hall-1 temperature every 5 minutes for 3 days, humidity every 10 minutes for 2 days with a gap,
  // yard every minute for the last 6 hours (still arriving: the newest buckets are not rolled up).
  await db.query(`
    INSERT INTO iotctl.points (time, series_id, value)
    SELECT t, s.id, 20 FROM iotctl.series s,
           generate_series(date_trunc('hour', now()) - interval '3 days', date_trunc('hour', now()) - interval '1 minute', interval '5 minutes') t
     WHERE s.device_id = 'hall-1' AND s.metric = 'temperature'
    UNION ALL
    SELECT t, s.id, 50 FROM iotctl.series s,
           generate_series(date_trunc('hour', now()) - interval '2 days', date_trunc('hour', now()) - interval '1 minute', interval '10 minutes') t
     WHERE s.device_id = 'hall-1' AND s.metric = 'humidity'
       AND NOT (t BETWEEN date_trunc('hour', now()) - interval '30 hours' AND date_trunc('hour', now()) - interval '20 hours')
    UNION ALL
    SELECT t, s.id, 5 FROM iotctl.series s,
           generate_series(now() - interval '6 hours', now(), interval '1 minute') t
     WHERE s.device_id = 'yard'`);
}

const exact = (db: Db) =>
  db.query<{ device: string; metric: string; n: number; first: Date; last: Date }>(
    `SELECT s.device_id AS device, s.metric, count(*)::int AS n, min(p.time) AS first, max(p.time) AS last
       FROM iotctl.points p JOIN iotctl.series s ON s.id = p.series_id GROUP BY 1, 2 ORDER BY 1, 2`,
  );

describe.each(targetKinds)('iotctl series on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    const store = await initTestStore(db, '1h,1d');
    await ensureDaysBack(db, store, 4);
    await seed(db);
    await rollupRefresh(db, [], {});
    // A late reading below the rollups' watermark: the count stays exact (agg's planner reads raw there).
    const late = new Date(Math.floor(Date.now() / HOUR) * HOUR - 50 * HOUR + 90_000);
    await db.query(
      `INSERT INTO iotctl.points SELECT $1, id, 99 FROM iotctl.series WHERE device_id = 'hall-1' AND metric = 'temperature'`,
      [late],
    );
    // Where no trigger sees that INSERT (Citus), the dirty mark iotctl ingest writes with such a batch.
    const rollup = store.engine.lateDataRollup(store);
    if (rollup) await db.query(markDirtyBelowWatermark(rollup, late));
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('lists every series with exact counts and first/last readings, the empty one included', async () => {
    const listed = await listSeries(db, {});
    const truth = (await exact(db)).rows;
    expect(listed.map((s) => [s.device, s.metric])).toEqual([
      ['empty', 'temperature'],
      ['hall-1', 'humidity'],
      ['hall-1', 'temperature'],
      ['yard', 'temperature'],
    ]);
    expect(listed[0]).toMatchObject({ first: null, last: null, readings: 0, readingsExact: true });
    for (const t of truth) {
      const s = listed.find((l) => l.device === t.device && l.metric === t.metric)!;
      expect(s, `${t.device}/${t.metric}`).toMatchObject({ readings: t.n, readingsExact: true });
      expect(s.first).toEqual(new Date(t.first));
      expect(s.last).toEqual(new Date(t.last));
    }
    expect(listed.find((s) => s.device === 'hall-1' && s.metric === 'temperature')).toMatchObject({
      unit: '°C',
      tags: { floor: 1 },
    });
  });

  it('filters by --device, --device-like and --metric', async () => {
    expect((await listSeries(db, { devices: ['yard'] })).map((s) => s.metric)).toEqual(['temperature']);
    expect((await listSeries(db, { deviceLike: 'hall-%', metric: 'humidity' })).map((s) => s.device)).toEqual(
      ['hall-1'],
    );
    expect(await listSeries(db, { metric: 'nosuch' })).toEqual([]);
  });

  it('a series of events lists them: their count, first and last (it showed 0 readings and no times)', async () => {
    await db.query(`INSERT INTO iotctl.series (device_id, metric) VALUES ('door-1', 'state')`);
    // Plain mode and Citus create events partitions as events arrive (ingest does it).
    const store = await loadStore(db);
    await store.engine.rowPlacer(db, store, 'events')?.ensureFor([Date.now() - 3 * HOUR, Date.now()]);
    await db.query(
      `INSERT INTO iotctl.events (time, series_id, value)
       SELECT t, s.id, CASE WHEN k % 2 = 0 THEN 'open' ELSE 'closed' END FROM iotctl.series s,
              unnest(ARRAY[now() - interval '3 hours', now() - interval '2 hours', now() - interval '1 hour']) WITH ORDINALITY u(t, k)
        WHERE s.device_id = 'door-1'`,
    );
    const truth = (
      await db.query<{ n: number; first: Date; last: Date }>(
        `SELECT count(*)::int AS n, min(time) AS first, max(time) AS last FROM iotctl.events`,
      )
    ).rows[0]!;
    const [door] = await listSeries(db, { devices: ['door-1'] });
    expect(door).toMatchObject({ metric: 'state', readings: 0, events: 3 });
    expect(door!.first).toEqual(new Date(truth.first));
    expect(door!.last).toEqual(new Date(truth.last));
    const temp = (await listSeries(db, { devices: ['hall-1'] })).find((x) => x.metric === 'temperature');
    expect(temp?.events).toBe(0);
  });
});

describe('iotctl series without rollups (embedded target)', () => {
  let target: TestTarget;
  let db: Db;
  beforeAll(async () => {
    target = await makeTarget('embedded');
    db = await target.open();
    await initTestStore(db, 'none');
    await seed(db);
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('estimates counts from the cadence and marks them as estimates', async () => {
    const listed = await listSeries(db, {});
    const truth = new Map((await exact(db)).rows.map((t) => [`${t.device}/${t.metric}`, t.n]));
    const temp = listed.find((s) => s.device === 'hall-1' && s.metric === 'temperature')!;
    expect(temp).toMatchObject({ readings: truth.get('hall-1/temperature'), readingsExact: false });
    // The humidity gap makes the estimate too high: that is why it is marked.
    const hum = listed.find((s) => s.device === 'hall-1' && s.metric === 'humidity')!;
    expect(hum.readingsExact).toBe(false);
    expect(hum.readings).toBeGreaterThan(truth.get('hall-1/humidity')!);
  });
});
