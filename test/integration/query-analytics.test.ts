// query profile and query corr against SQL over the raw readings, on every target: a profile from the
// rollups equals percentile_cont over hourly averages of the readings, and r equals PostgreSQL's corr()
// over the same aligned buckets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { queryCorr, type CorrOptions } from '../../src/query/corr.js';
import { profileRange, queryProfile, type ProfileBy } from '../../src/query/profile.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore, refreshRollups } from './query-data.js';

const DAYS = 4;
const END = DAYS * 1440;
// A daily cycle whose level moves from day to day (so quartiles differ from the median), with noise.
const daily = `20 + 5 * sin(2 * pi() * (i - 30) / 1440) + 0.7 * floor(i / 1440) * (1 - 2 * (floor(i / 1440)::int % 2)) + ((i * 7919) % 13) / 10.0`;
// No period near an hour or a day, so only the true lag correlates.
const wave = (i: string) => `(sin(${i} / 200.0) + 0.6 * sin(${i} / 47.0) + 0.3 * sin(${i} / 23.0))`;
const noise = `((i * 7919) % 13) / 1000.0`;

describe.each(targetKinds)('query profile and corr on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    // A TimescaleDB server runs the refresh policies in the background, and a policy refresh that overlaps
    // refreshRollups' own fails it ("due to a concurrent refresh"): the jobs wait while the suite runs.
    if (store.mode === 'timescaledb')
      await db.query(
        `SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE hypertable_schema = 'iotctl'`,
      );
    const series = [
      { device: 'room', metric: 'temp', valueSql: daily, skip: 'i BETWEEN 2000 AND 2100' },
      { device: 'a', metric: 'x', valueSql: wave('i') },
      // b follows a by two hours; c mirrors a; a's y is x scaled and turned over.
      { device: 'b', metric: 'x', valueSql: `${wave('(i - 120)')} + ${noise}` },
      { device: 'c', metric: 'x', valueSql: `-${wave('i')} + ${noise}` },
      { device: 'a', metric: 'y', valueSql: `5 - 3 * ${wave('i')} + ${noise}` },
    ];
    for (const s of series) await addSeries(db, store, { ...s, unit: 'u', first: 0, last: END - 1 });
    await refreshRollups(db, store, at(END));
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  /** The profile as SQL over the readings: percentile_cont of the local hours' averages per slot. */
  async function profileSql(by: ProfileBy, tz: string, since: Date, until: Date) {
    const slot = by === 'hour' ? 'hour' : 'isodow';
    const { rows } = await db.query<{ slot: number; q: number[]; n: number }>(
      `WITH h AS (SELECT date_trunc('hour', p.time AT TIME ZONE $3) AS local, avg(p.value) AS v
                    FROM iotctl.points p JOIN iotctl.series s ON s.id = p.series_id
                   WHERE s.device_id = 'room' AND p.time >= $1 AND p.time < $2 GROUP BY 1)
       SELECT extract(${slot} FROM local)::int AS slot, count(*)::int AS n,
              percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY v) AS q
         FROM h GROUP BY 1 ORDER BY 1`,
      [since, until, tz],
    );
    return rows;
  }

  it.each([
    ['hour', 'UTC', at(0), at(END), at(0), at(END)],
    // Half-hour offset, and a range that starts mid-hour: trimmed to whole local hours (05:30 local = T0).
    ['weekday', 'Asia/Kolkata', at(10), at(END - 5), at(30), at(END - 30)],
    ['hour', 'America/New_York', at(10), at(END), at(60), at(END)],
  ] as const)(
    'profile --by %s --tz %s equals percentile_cont over the hourly averages of the readings',
    async (by, tz, since, until, trimmedSince, trimmedUntil) => {
      const range = profileRange({ since, until }, tz);
      expect(range).toEqual({ since: trimmedSince, until: trimmedUntil });
      const res = await queryProfile(db, { filter: { metric: 'temp' }, range, by, tz });
      // Local hours of a half-hour zone are 15-minute buckets added up (raw readings are as cheap here).
      if (tz !== 'Asia/Kolkata') expect(res.sources.map((s) => s.source)).toContain('rollup_1h');
      const expected = await profileSql(by, tz, range.since, range.until);
      const got = res.rows.filter((r) => r.hours > 0);
      expect(res.rows).toHaveLength(by === 'hour' ? 24 : 7);
      expect(got.map((r) => [r[by], r.hours])).toEqual(expected.map((e) => [e.slot, e.n]));
      got.forEach((r, i) => {
        const q = expected[i]!.q;
        expect(r.p25).toBeCloseTo(q[0]!, 9);
        expect(r.median).toBeCloseTo(q[1]!, 9);
        expect(r.p75).toBeCloseTo(q[2]!, 9);
      });
      // The cycle itself: warmest in hour 6 UTC, coldest in hour 18 (its peak at 06:30, its trough at 18:30).
      if (tz === 'UTC') {
        const medians = got.map((r) => r.median as number);
        expect(medians.indexOf(Math.max(...medians))).toBe(6);
        expect(medians.indexOf(Math.min(...medians))).toBe(18);
      }
    },
  );

  /** corr() over hourly averages of the readings, b's bucket `lagHours` after a's. */
  async function corrSql(a: [string, string], b: [string, string], lagHours: number) {
    const { rows } = await db.query<{ r: number | null; n: number }>(
      `WITH h AS (SELECT s.device_id AS d, s.metric AS m, date_bin('1 hour', p.time, TIMESTAMPTZ '2000-01-03') AS t,
                         avg(p.value) AS v
                    FROM iotctl.points p JOIN iotctl.series s ON s.id = p.series_id
                   WHERE p.time >= $1 AND p.time < $2 GROUP BY 1, 2, 3)
       SELECT corr(ha.v, hb.v) AS r, count(*)::int AS n
         FROM h ha JOIN h hb ON hb.t = ha.t + make_interval(hours => $7)
        WHERE ha.d = $3 AND ha.m = $4 AND hb.d = $5 AND hb.m = $6`,
      [at(0), at(END), a[0], a[1], b[0], b[1], lagHours],
    );
    return rows[0]!;
  }

  const corr = (o: Partial<CorrOptions>) =>
    queryCorr(db, {
      metrics: ['x'],
      range: { since: at(0), until: at(END) },
      every: parseDuration('1h'),
      ...o,
    });

  it('corr of one metric: every device pair; b, two hours behind a, at best lag +2h with r ≈ 1; c at r ≈ -1; r and n as corr() gives', async () => {
    const res = await corr({ maxLag: parseDuration('6h') });
    expect(res.sources).toEqual([
      { metric: 'x', segments: [expect.objectContaining({ source: 'rollup_1h' })] },
    ]);
    expect(res.rows.map((r) => `${r.deviceA}-${r.deviceB}`)).toEqual(['a-b', 'a-c', 'b-c']);
    const [ab, ac, bc] = res.rows;
    expect(ab).toMatchObject({ bestLagSeconds: 7200 });
    expect(ab!.bestR).toBeGreaterThan(0.999);
    expect(ab!.r).toBeLessThan(0.99);
    expect(ac).toMatchObject({ bestLagSeconds: 0, n: DAYS * 24 });
    expect(ac!.r).toBeLessThan(-0.999);
    expect(bc).toMatchObject({ bestLagSeconds: -7200 });
    for (const row of res.rows) {
      const a: [string, string] = [row.deviceA, row.metricA];
      const b: [string, string] = [row.deviceB, row.metricB];
      const zero = await corrSql(a, b, 0);
      const best = await corrSql(a, b, row.bestLagSeconds! / 3600);
      expect([row.n, row.bestN]).toEqual([zero.n, best.n]);
      expect(row.r).toBeCloseTo(zero.r!, 10);
      expect(row.bestR).toBeCloseTo(best.r!, 10);
    }
  });

  it('corr of two metrics: the pair on each device that has both', async () => {
    const res = await corr({ metrics: ['x', 'y'], devices: ['a', 'b'] });
    expect(res.rows).toHaveLength(1);
    const row = res.rows[0]!;
    expect(row).toMatchObject({ deviceA: 'a', metricA: 'x', deviceB: 'a', metricB: 'y', bestLagSeconds: 0 });
    expect(row.r).toBeLessThan(-0.999);
    expect(row.r).toBeCloseTo((await corrSql(['a', 'x'], ['a', 'y'], 0)).r!, 10);
  });
});
