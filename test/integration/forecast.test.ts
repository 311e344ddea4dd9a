// iotctl forecast on every target: it reads the series' hourly averages through query agg's planner (rollup_1h,
// and raw readings where it does not answer), and forecasts a synthetic daily cycle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { queryAgg } from '../../src/query/agg.js';
import { forecast, type ForecastOptions } from '../../src/query/forecast.js';
import { parseDuration } from '../../src/util/duration.js';
import { engineOf, makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore, refreshRollups } from './query-data.js';

const DAY = 1440;
// A daily cycle from 10 (midnight UTC) to 30 (noon), a reading every 10 minutes, small noise.
const truth = (minute: number) => 20 - 10 * Math.cos((2 * Math.PI * minute) / DAY);
const cycle = `20 - 10 * cos(2 * pi() * i / ${DAY}) + 0.3 * sin(i * 1.7)`;
const options = (over: Partial<ForecastOptions> = {}): ForecastOptions => ({
  filter: { metric: 'temp', devices: ['cycle'] },
  horizon: parseDuration('24h'),
  ...over,
});

describe.each(targetKinds)('forecast on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    // Ten days, minute 0 to minute 10 × DAY: the last reading opens an hour of its own. Day 4's 06:00 hour is missing.
    for (const device of ['cycle', 'other'])
      await addSeries(db, store, {
        device,
        metric: 'temp',
        unit: '°C',
        first: 0,
        last: 10 * DAY,
        valueSql: cycle,
        skip: `i % 10 <> 0 OR (i >= ${4 * DAY + 360} AND i < ${4 * DAY + 420})`,
      });
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  it('fits the hourly averages agg gives (raw or rollup_1h) and forecasts the next day within 0.5 °C', async () => {
    const notices: string[] = [];
    for (const refreshed of [false, true]) {
      if (refreshed) await refreshRollups(db, store, at(10 * DAY + 60));
      const res = await forecast(db, options({ onNotice: (m) => notices.push(m) }));
      // Plain mode reads raw readings until the refresh; TimescaleDB's real-time rollups answer before it
      // (on the server its scheduler's invalidations of these January rows may send agg to raw data).
      if (kind !== 'external')
        expect(res.sources.map((s) => s.source)).toEqual(
          refreshed || engineOf(kind) === 'timescaledb' ? ['rollup_1h'] : ['raw'],
        );
      // The last hour holds one reading of the usual six: left out, and forecast instead.
      expect(res.since).toEqual(at(0));
      expect(res.until).toEqual(at(10 * DAY));
      expect(notices.at(-1)).toMatch(/holds 1 readings against a usual 6: left out/);
      const agg = await queryAgg(db, {
        filter: options().filter,
        range: { since: at(0), until: at(10 * DAY) },
        every: parseDuration('1h'),
        fns: ['avg'],
      });
      const known = res.history.filter((h) => h.value !== null);
      expect(known.map((h) => h.time)).toEqual(agg.rows.map((r) => r.time));
      known.forEach((h, i) => expect(h.value).toBeCloseTo(agg.rows[i]!.avg as number, 9));
      expect(res.fitted).toMatchObject({ buckets: 240, missing: 1 });
      expect(res).toMatchObject({ device: 'cycle', metric: 'temp', unit: '°C', every: '1h', season: '1d' });
      expect(res.fitted.candidates.map((c) => c.season)).toEqual([null, '1d']);
      expect(res.rows).toHaveLength(24);
      expect(res.rows[0]!.time).toEqual(at(10 * DAY));
      // Each forecast hour against the true hourly average of the cycle (its value at the half hour).
      const errors = res.rows.map((r, h) => Math.abs(r.forecast - truth(10 * DAY + 60 * h + 25)));
      expect(Math.max(...errors)).toBeLessThan(0.5);
      for (const r of res.rows)
        expect(r.lo95 < r.lo80 && r.lo80 < r.forecast && r.forecast < r.hi80).toBe(true);
    }
  });

  it('takes --every, --season, --since and --until', async () => {
    const res = await forecast(
      db,
      options({
        horizon: parseDuration('6h'),
        every: parseDuration('30m'),
        season: parseDuration('1d'),
        since: at(2 * DAY),
        until: at(9 * DAY + 15),
      }),
    );
    expect(res).toMatchObject({ every: '30m', season: '1d', since: at(2 * DAY), until: at(9 * DAY) });
    expect(res.fitted).toMatchObject({ buckets: 7 * 48, missing: 2, candidates: [] });
    expect(res.rows.map((r) => r.time)).toEqual(Array.from({ length: 12 }, (_, k) => at(9 * DAY + 30 * k)));
  });

  it('starts the rows at --until when the readings end before it, forecasting the buckets between', async () => {
    const res = await forecast(db, options({ until: at(12 * DAY) }));
    // Given --until, the last hour (one reading) is history; the forecast runs on from there.
    expect(res.until).toEqual(at(10 * DAY + 60));
    expect(res.rows.map((r) => r.time)).toEqual(Array.from({ length: 24 }, (_, h) => at(12 * DAY + 60 * h)));
    const near = await forecast(db, options({ until: at(10 * DAY + 60) }));
    expect(res.rows[0]!.hi95 - res.rows[0]!.lo95).toBeGreaterThan(near.rows[0]!.hi95 - near.rows[0]!.lo95);
    const errors = res.rows.map((r, h) => Math.abs(r.forecast - truth(12 * DAY + 60 * h + 25)));
    expect(Math.max(...errors)).toBeLessThan(1);
  });

  it('refuses a selection of several series (listing them) and too short a history', async () => {
    await expect(forecast(db, options({ filter: { metric: 'temp' } }))).rejects.toThrow(
      /the selection matches 2: cycle temp, other temp/,
    );
    await expect(forecast(db, options({ filter: { metric: 'nosuch' } }))).rejects.toThrow(
      /no series matches --metric nosuch/,
    );
    await expect(
      forecast(db, options({ season: parseDuration('1d'), since: at(8 * DAY), until: at(9 * DAY) })),
    ).rejects.toThrow(/too little history for cycle temp: 24 buckets of 1h .* at least 49/);
  });
});
