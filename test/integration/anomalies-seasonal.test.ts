// robust --season on every target: the profile starts from the hourly averages before --since, read
// through query agg's planner (from the rollups once they are refreshed, else from the readings), so a
// short range is judged against days of history it does not read reading by reading.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anomalyIncidents, validateAnomalies, type AnomaliesOptions } from '../../src/anomalies/detect.js';
import type { Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import { addSeries, at, initStore, refreshRollups } from './query-data.js';

const DAY = 1440;
// A daily cycle from 10 (midnight UTC) to 30 (noon), a reading every 10 minutes, over 13 days.
const cycle = `20 - 10 * cos(2 * pi() * i / ${DAY}) + 0.3 * sin(i * 1.7)`;
// The night from day 11 18:00 to day 12 06:00 cools to 15, not 10: smoothly, within the usual range.
const warmNight = `${cycle} + CASE WHEN i >= ${11 * DAY + 18 * 60} AND i < ${12 * DAY + 6 * 60}
                                   THEN 5 * cos(2 * pi() * i / ${DAY}) ELSE 0 END`;
const since = at(11 * DAY + 12 * 60);
const options = (over: Partial<AnomaliesOptions> = {}): AnomaliesOptions => ({
  method: 'robust',
  filter: {},
  range: { since, until: at(13 * DAY) },
  season: parseDuration('1d'),
  ...over,
});

describe.each(targetKinds)('robust --season on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    for (const [device, valueSql] of [
      ['steady', cycle],
      ['warm', warmNight],
    ] as const)
      await addSeries(db, store, {
        device,
        metric: 'temp',
        first: 0,
        last: 13 * DAY - 1,
        valueSql,
        skip: 'i % 10 <> 0',
      });
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  const found = async (over: Partial<AnomaliesOptions> = {}) =>
    (await anomalyIncidents(db, options(over))).incidents.map((i) => ({
      device: i.device,
      startsAfter18h:
        i.start >= at(11 * DAY + 18 * 60).getTime() && i.start < at(11 * DAY + 22 * 60).getTime(),
      kinds: i.kinds,
    }));

  it('finds the warm night only, from the readings before the rollups are refreshed and from the rollups after', async () => {
    const expected = [{ device: 'warm', startsAfter18h: true, kinds: ['level'] }];
    expect(await found()).toEqual(expected);
    await refreshRollups(db, store, at(13 * DAY));
    expect(await found()).toEqual(expected);
    // Without a season the night is within the series' usual range: nothing.
    expect(await found({ season: undefined })).toEqual([]);
  });

  it('reports season and seasons in params', async () => {
    const res = await anomalyIncidents(db, options({ seasons: 5 }));
    expect(res.params).toMatchObject({ season: '1d', seasons: 5 });
  });
});

describe('robust --season usage', () => {
  it.each([
    [{ season: parseDuration('90m') }, /whole number of hours from 2h to 28d, not 90m/],
    [{ season: parseDuration('1h') }, /from 2h to 28d, not 1h/],
    [{ season: parseDuration('29d') }, /not 29d/],
    [{ seasons: 4 }, /--seasons needs --season/],
    [{ season: parseDuration('1d'), seasons: 2 }, /--seasons must be a whole number >= 3/],
  ])('%o is a usage error', (over, message) => {
    expect(() => validateAnomalies(options({ season: undefined, ...over }))).toThrow(message);
  });
});
