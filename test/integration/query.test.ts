import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anomalies, anomalyIncidents } from '../../src/anomalies/detect.js';
import type { SeriesFilter } from '../../src/db/sql/query.js';
import { queryAgg } from '../../src/query/agg.js';
import { aggregateFunctions, exampleName } from '../../src/query/functions.js';
import { parseTolerance, queryGaps } from '../../src/query/gaps.js';
import { queryLatest } from '../../src/query/latest.js';
import { queryRaw } from '../../src/query/raw.js';
import type { Store } from '../../src/db/store.js';
import type { Db } from '../../src/db/types.js';
import { parseDuration } from '../../src/util/duration.js';
import { makeTarget, targetKinds, type TestTarget } from '../helpers/targets.js';
import {
  addLabelledSeries,
  addSeries,
  at,
  ensurePartitions,
  initStore,
  refreshRollups,
  basic,
  fromRaw,
  expectSameAggregates,
} from './query-data.js';

const noisy = `20 + 5 * sin(i / 100.0) + ((i * 7919) % 13) / 10.0`;

describe.each(targetKinds)('iotctl query on the %s target', (kind) => {
  let target: TestTarget;
  let db: Db;
  let store: Store;
  beforeAll(async () => {
    target = await makeTarget(kind);
    db = await target.open();
    store = await initStore(db);
    // Three days of one reading a minute for three devices, then the rollups up to day 3.
    for (const device of ['hall-1', 'hall-2', 'yard-1']) {
      await addSeries(db, store, {
        device,
        metric: 'temp',
        unit: '°C',
        first: 0,
        last: 3 * 1440 - 1,
        valueSql: noisy,
      });
    }
    await addSeries(db, store, {
      device: 'hall-1',
      metric: 'rh',
      unit: '%',
      first: 0,
      last: 1439,
      valueSql: '50',
    });
    await refreshRollups(db, store, at(3 * 1440));
  });
  afterAll(async () => {
    await db?.close();
    await target?.cleanup();
  });

  it('agg --every 1h over an unaligned range reads rollup_1h inside, finer rollups and raw at the edges, and equals raw', async () => {
    const opts = {
      filter: { metric: 'temp' },
      range: {
        since: new Date(at(30).getTime() + 17_000),
        until: new Date(at(2 * 1440 + 303).getTime() + 5_000),
      },
      every: parseDuration('1h'),
      fns: basic,
    };
    const res = await queryAgg(db, opts);
    expect(res.sources.map((s) => s.source)).toEqual(['raw', 'rollup_1m', 'rollup_1h', 'rollup_1m', 'raw']);
    expect(res.sources[2]).toMatchObject({ from: at(60), to: at(2 * 1440 + 300) });
    expect(res.sources[2]?.reason).toMatch(/whole multiple of 1h/);
    expectSameAggregates(res, await fromRaw(db, opts));
    expect(res.rows[0]).toMatchObject({ time: at(0), device: 'hall-1', metric: 'temp', unit: '°C' });
    // The first bucket starts at 00:00 but only counts readings from 00:30:17 on.
    expect(res.rows[0]?.count).toBe(29);
  });

  it('agg --every 1d reads rollup_1d; --every 7m reads raw and says why', async () => {
    const day = {
      filter: { device: ['hall-1', 'yard-1'], metric: 'temp' } as const,
      every: parseDuration('1d'),
    };
    const opts = {
      filter: { devices: ['hall-1', 'yard-1'], metric: 'temp' },
      range: { since: at(0), until: at(3 * 1440) },
      every: day.every,
      fns: basic,
    };
    const res = await queryAgg(db, opts);
    expect(res.sources.map((s) => s.source)).toEqual(['rollup_1d']);
    expect(res.rows.map((r) => r.device)).toEqual([
      'hall-1',
      'hall-1',
      'hall-1',
      'yard-1',
      'yard-1',
      'yard-1',
    ]);
    expect(res.rows.every((r) => r.count === 1440)).toBe(true);
    expectSameAggregates(res, await fromRaw(db, opts));

    const odd = await queryAgg(db, {
      ...opts,
      every: parseDuration('90s'),
      range: { since: at(0), until: at(70) },
    });
    expect(odd.sources).toHaveLength(1);
    expect(odd.sources[0]).toMatchObject({ source: 'raw', from: at(0), to: at(70) });
    expect(odd.sources[0]?.reason).toMatch(/no rollup bucket \(1m, 1h, 1d\) divides --every 90s/);
    const hall = odd.rows.filter((r) => r.device === 'hall-1');
    expect(hall).toHaveLength(47);
    expect(hall.slice(0, 4).map((r) => r.count)).toEqual([2, 1, 2, 1]);
  });

  it('p95 reads raw data (percentiles do not recombine) and is the percentile of the bucket', async () => {
    const res = await queryAgg(db, {
      filter: { devices: ['hall-1'], metric: 'rh' },
      range: { since: at(0), until: at(120) },
      every: parseDuration('1h'),
      fns: ['p95', 'count'],
    });
    expect(res.sources[0]?.reason).toMatch(/p95 cannot be recombined/);
    expect(res.rows).toEqual([
      { time: at(0), device: 'hall-1', metric: 'rh', unit: '%', p95: 50, count: 60 },
      { time: at(60), device: 'hall-1', metric: 'rh', unit: '%', p95: 50, count: 60 },
    ]);
  });

  it('reads the not-yet-rolled-up tail from raw data and still equals raw', async () => {
    // Readings after the last refresh: day 3.
    await addSeries(db, store, {
      device: 'hall-2',
      metric: 'temp',
      unit: '°C',
      first: 3 * 1440,
      last: 3 * 1440 + 179,
      valueSql: noisy,
    });
    const opts = {
      filter: { metric: 'temp' },
      range: { since: at(0), until: at(3 * 1440 + 180) },
      every: parseDuration('1h'),
      fns: basic,
    };
    const res = await queryAgg(db, opts);
    if (store.mode !== 'timescaledb') {
      // Rollup tables (plain, Citus): complete until the watermark, the tail read raw.
      expect(res.sources.map((s) => s.source)).toEqual(['rollup_1h', 'raw']);
      expect(res.sources[1]?.reason).toMatch(
        /not yet rolled up in rollup_1m \(complete until 2026-01-08T00:00:00.000Z\)/,
      );
    } else {
      // A real-time continuous aggregate includes the tail itself: one source for the whole range. On a
      // server the scheduler's refresh policy has moved the invalidation threshold up to now, so these
      // January rows are logged as pending invalidations and the whole range is read from raw data.
      const chosen = res.sources.map((s) => s.source);
      expect(chosen.length).toBe(1);
      expect(kind === 'external' ? ['rollup_1h', 'raw'] : ['rollup_1h']).toContain(chosen[0]);
    }
    expectSameAggregates(res, await fromRaw(db, opts));
    expect(res.rows.filter((r) => r.device === 'hall-2').at(-1)).toMatchObject({
      time: at(3 * 1440 + 120),
      count: 60,
    });
  });

  it('a backfilled reading below the watermark is never lost', async () => {
    await db.query(
      `INSERT INTO iotctl.points SELECT $1::timestamptz, id, 1000 FROM iotctl.series WHERE device_id = 'yard-1' AND metric = 'temp'`,
      [new Date(at(600).getTime() + 30_000)],
    );
    const opts = {
      filter: { devices: ['yard-1'], metric: 'temp' },
      range: { since: at(0), until: at(1440) },
      every: parseDuration('1h'),
      fns: basic,
    };
    const res = await queryAgg(db, opts);
    if (store.mode === 'timescaledb') {
      // Pending invalidation: the continuous aggregate does not show the row until refreshed, so read raw.
      expect(res.sources.map((s) => s.source)).toEqual(['raw']);
      expect(res.sources[0]?.reason).toMatch(/pending invalidations/);
      expectSameAggregates(res, await fromRaw(db, opts));
      expect(res.rows[10]).toMatchObject({ count: 61, max: 1000 });
      await refreshRollups(db, store, at(3 * 1440));
      const after = await queryAgg(db, opts);
      expect(after.sources.map((s) => s.source)).toEqual(['rollup_1h']);
      expect(after.rows[10]).toMatchObject({ count: 61, max: 1000 });
    } else {
      // Plain mode: the rollup is what `maintain` last wrote; after its refresh it includes the row.
      await refreshRollups(db, store, at(3 * 1440));
      const after = await queryAgg(db, opts);
      expect(after.sources.map((s) => s.source)).toEqual(['rollup_1h']);
      expect(after.rows[10]).toMatchObject({ count: 61, max: 1000 });
      expectSameAggregates(after, await fromRaw(db, opts));
    }
  });

  // Rollup tables only (plain, Citus): TimescaleDB has no watermark rows, its continuous aggregates are real-time.
  it('plain mode: a rollup without a watermark row is not read', async ({ skip }) => {
    if (store.mode === 'timescaledb') skip();
    await db.query(`DELETE FROM iotctl.meta WHERE key = 'watermark:rollup_1h'`);
    const res = await queryAgg(db, {
      filter: { metric: 'rh' },
      range: { since: at(0), until: at(120) },
      every: parseDuration('1h'),
      fns: ['avg'],
    });
    // rollup_1m still has its watermark.
    expect(res.sources.map((s) => s.source)).toEqual(['rollup_1m']);
    await db.query(`DELETE FROM iotctl.meta WHERE key LIKE 'watermark:%'`);
    const none = await queryAgg(db, {
      filter: { metric: 'rh' },
      range: { since: at(0), until: at(120) },
      every: parseDuration('1h'),
      fns: ['avg'],
    });
    expect(none.sources.map((s) => s.source)).toEqual(['raw']);
    expect(none.sources[0]?.reason).toMatch(/no watermark/);
    expect(none.rows.map((r) => r.avg)).toEqual([50, 50]);
    await refreshRollups(db, store, at(3 * 1440));
  });

  it('latest gives the last reading per series with its age; --stale keeps the silent ones', async () => {
    await ensurePartitions(db, store, new Date(Date.now() - 3_600_000), new Date(Date.now() + 3_600_000));
    await db.query(`INSERT INTO iotctl.series (device_id, metric) VALUES ('fresh', 'temp')`);
    await db.query(
      `INSERT INTO iotctl.points SELECT now() - interval '1 minute', id, 7 FROM iotctl.series WHERE device_id = 'fresh'`,
    );
    const all = await queryLatest(db, { filter: { metric: 'temp' } });
    expect(all.rows.map((r) => r.device)).toEqual(['fresh', 'hall-1', 'hall-2', 'yard-1']);
    expect(all.rows[2]).toMatchObject({ device: 'hall-2', time: at(3 * 1440 + 179), unit: '°C' });
    expect(all.rows[0]?.ageSeconds).toBeGreaterThanOrEqual(59);
    expect(all.rows[0]?.ageSeconds).toBeLessThan(600);
    const stale = await queryLatest(db, { filter: { metric: 'temp' }, stale: parseDuration('15m') });
    expect(stale.stale).toBe('15m');
    expect(stale.rows.map((r) => r.device)).toEqual(['hall-1', 'hall-2', 'yard-1']);
    expect(stale.rows[0]?.ageSeconds).toBeGreaterThan(86_400);
    await db.query(
      `DELETE FROM iotctl.points WHERE series_id = (SELECT id FROM iotctl.series WHERE device_id = 'fresh')`,
    );
  });

  it('gaps finds a dropout with its length, and an open gap at the end of the range', async () => {
    await addLabelledSeries(db, store);
    const range = { since: at(0), until: at(480) };
    const res = await queryGaps(db, {
      filter: { metric: 'temp', deviceLike: 'd%' },
      range,
      expected: parseDuration('5m'),
    });
    expect(res.rows).toEqual([
      {
        device: 'dropout',
        metric: 'temp',
        from: at(389),
        to: at(420),
        seconds: 31 * 60,
        // Six 5-minute readings fit in 31 minutes; the sixth, a minute before the next reading, is within
        // the default tolerance (150 s) of it: 5 missing, and 6 with no tolerance.
        missing: 5,
        open: false,
      },
    ]);
    const strict = await queryGaps(db, {
      filter: { metric: 'temp', devices: ['dropout'] },
      range,
      expected: parseDuration('5m'),
      toleranceMs: 0,
    });
    expect(strict.rows.map((r) => r.missing)).toEqual([6]);
    const open = await queryGaps(db, {
      filter: { devices: ['dropout', 'clean'], metric: 'temp' },
      range: { since: at(0), until: at(540) },
      expected: parseDuration('5m'),
    });
    expect(open.rows.map((r) => [r.device, r.from, r.to, r.open])).toEqual([
      ['clean', at(479), at(540), true],
      ['dropout', at(389), at(420), false],
      ['dropout', at(479), at(540), true],
    ]);
  });

  it('gaps --expected 1m on a clock drifting by a second: no false 61 s gaps (every one was flagged), one missed reading is one gap missing 1', async () => {
    // As the UCI occupancy data: steps of 60, 61, 59 s... and one reading missing (a 121 s step).
    const times = [0, 60, 121, 180, 239, 300, 421, 480, 541, 600].map(
      (s) => new Date(at(0).getTime() + s * 1000),
    );
    await db.query(`INSERT INTO iotctl.series (device_id, metric) VALUES ('late-clock', 'temp')`);
    await db.query(
      `INSERT INTO iotctl.points SELECT t, (SELECT id FROM iotctl.series WHERE device_id = 'late-clock'), 1 FROM unnest($1::timestamptz[]) t`,
      [times],
    );
    const gaps = (toleranceMs?: number) =>
      queryGaps(db, {
        filter: { devices: ['late-clock'] },
        range: { since: at(0), until: at(10) },
        expected: parseDuration('1m'),
        toleranceMs,
      });
    const res = await gaps();
    expect(res.tolerance).toBe('30s');
    expect(res.rows.map((r) => [r.from, r.seconds, r.missing])).toEqual([[times[5], 121, 1]]);
    // With no tolerance, every late step is a gap (what it did before).
    const strict = await gaps(0);
    expect(strict.rows.map((r) => [r.seconds, r.missing])).toEqual([
      [61, 1],
      [61, 1],
      [121, 2],
      [61, 1],
    ]);
    expect(parseTolerance('10%', parseDuration('1m'))).toBe(6000);
    expect(parseTolerance('0s', parseDuration('1m'))).toBe(0);
    expect(() => parseTolerance('150%', parseDuration('1m'))).toThrow(/at most 100%/);
  });

  it('raw pages by (series, time) keyset, honours --limit, and --downsample keeps the shape (LTTB)', async () => {
    const collect = async (it: AsyncIterable<unknown>) => {
      const out = [];
      for await (const r of it) out.push(r);
      return out;
    };
    const base = {
      filter: { devices: ['spike', 'clean'], metric: 'temp' },
      range: { since: at(360), until: at(480) },
    };
    const whole = await collect(queryRaw(db, base));
    expect(whole).toHaveLength(240);
    expect(await collect(queryRaw(db, { ...base, pageSize: 7 }))).toEqual(whole);
    expect(whole[0]).toEqual({
      time: at(360),
      device: 'clean',
      metric: 'temp',
      value: expect.any(Number),
      unit: '°C',
    });
    expect(await collect(queryRaw(db, { ...base, limit: 10, pageSize: 4 }))).toEqual(whole.slice(0, 10));
    const down = (await collect(queryRaw(db, { ...base, downsample: 20, pageSize: 50 }))) as Array<{
      device: string;
      time: Date;
      value: number;
    }>;
    expect(down).toHaveLength(40);
    const spike = down.filter((r) => r.device === 'spike');
    expect(spike[0]?.time).toEqual(at(360));
    expect(spike.at(-1)?.time).toEqual(at(479));
    expect(spike.some((r) => r.time.getTime() === at(420).getTime() && r.value > 30)).toBe(true);
  });

  it('a --metric, --device or --device-like matching no series is a usage error naming it and listing what exists (agg, raw, latest, gaps, anomalies)', async () => {
    const range = { since: at(0), until: at(60) };
    const every = parseDuration('1h');
    const expected = parseDuration('5m');
    const runs = (filter: SeriesFilter) => [
      () => queryAgg(db, { filter, range, every, fns: basic }),
      async () => {
        for await (const _ of queryRaw(db, { filter, range })) void _;
      },
      () => queryLatest(db, { filter }),
      () => queryGaps(db, { filter, range, expected }),
      () => anomalies(db, { method: 'zscore', filter, range }),
      () => anomalyIncidents(db, { method: 'range', max: 100, filter, range }),
    ];
    const usage = { code: 'USAGE', exitCode: 2 };
    for (const run of runs({ metric: 'nosuch' })) {
      await expect(run()).rejects.toMatchObject(usage);
      await expect(run()).rejects.toThrow(/^no series matches --metric nosuch \(metrics: rh, temp\)$/);
    }
    for (const run of runs({ metric: 'temp', devices: ['hall-9', 'hall-8'] }))
      await expect(run()).rejects.toThrow(
        /^no series matches --device hall-9,hall-8 \(devices: .*hall-1, hall-2.*\)$/,
      );
    for (const run of runs({ deviceLike: 'pump %' }))
      await expect(run()).rejects.toThrow(/^no series matches --device-like 'pump %' \(devices: /);
    // Both alone match, not together: the metrics those devices do have.
    await expect(runs({ metric: 'rh', devices: ['yard-1'] })[0]!()).rejects.toThrow(
      'no series matches --metric rh --device yard-1 (metrics of --device yard-1: temp)',
    );
    // A long list is cut short, with the count in all.
    await db.query(
      `INSERT INTO iotctl.series (device_id, metric) SELECT 'many', 'm' || lpad(i::text, 2, '0') FROM generate_series(1, 12) i`,
    );
    await expect(queryLatest(db, { filter: { metric: 'nosuch' } })).rejects.toThrow(
      /\(metrics: m01, m02, m03, m04, m05, m06, m07, m08, m09, m10, … \(14 in all\)\)$/,
    );
    await db.query(`DELETE FROM iotctl.series WHERE device_id = 'many'`);
  });

  it('selected series without readings in the range: an empty result and a note saying so and where the readings are', async () => {
    const notes: string[] = [];
    const onNotice = (m: string) => notes.push(m);
    const filter = { metric: 'temp', devices: ['hall-2'] };
    const range = { since: at(10 * 1440), until: at(11 * 1440) };
    const last = (await queryLatest(db, { filter })).rows[0]?.time as Date;
    const said = `no readings between ${at(10 * 1440).toISOString()} and ${at(11 * 1440).toISOString()} (the selected series hold readings from ${at(0).toISOString()} to ${last.toISOString()})`;
    const agg = await queryAgg(db, { filter, range, every: parseDuration('1h'), fns: basic, onNotice });
    expect(agg.rows).toEqual([]);
    const raw = [];
    for await (const r of queryRaw(db, { filter, range, onNotice })) raw.push(r);
    expect(raw).toEqual([]);
    expect((await queryGaps(db, { filter, range, expected: parseDuration('5m'), onNotice })).rows).toEqual(
      [],
    );
    expect((await anomalies(db, { method: 'zscore', filter, range, onNotice })).rows).toEqual([]);
    const incidents = await anomalyIncidents(db, { method: 'range', max: 0, filter, range, onNotice });
    expect(incidents.incidents).toEqual([]);
    expect(notes).toEqual([said, said, said, said, said]);
    // Readings but nothing to report: gaps says there are none; anomalies finding nothing stays quiet.
    notes.length = 0;
    const day = { since: at(0), until: at(1440) };
    await queryGaps(db, { filter, range: day, expected: parseDuration('5m'), onNotice });
    await anomalyIncidents(db, { method: 'range', max: 1000, filter, range: day, onNotice });
    expect(notes).toEqual([
      `no gaps longer than 5m (+ 150s tolerance) between ${at(0).toISOString()} and ${at(1440).toISOString()}`,
    ]);
  });

  // Every function of the registry, from the source it would use, against the raw readings computed here.
  it.each(aggregateFunctions.map((f) => [f.name, f] as const))(
    'agg --fn %s per hour equals its definition over the raw readings',
    async (name, f) => {
      const oracle = oracles[name];
      expect(oracle, `an oracle for ${name} in this test`).toBeDefined();
      // Earlier tests leave late readings below the watermarks: make the rollups exact again first.
      await refreshRollups(db, store, at(3 * 1440));
      const fn = exampleName(f);
      const range = { since: at(0), until: at(180) };
      const filter = { devices: ['yard-1'], metric: 'temp' };
      // delta compares another function (avg) with the previous bucket: its column is delta_avg.
      const fns = f.kind === 'comparison' ? ['avg', fn] : [fn];
      const column = f.kind === 'comparison' ? f.column('avg') : fn;
      const res = await queryAgg(db, { filter, range, every: parseDuration('1h'), fns });
      expect(res.sources.map((s) => s.source)).toEqual([f.kind === 'percentile' ? 'raw' : 'rollup_1h']);
      const raw: number[][] = [[], [], []];
      for await (const r of queryRaw(db, { filter, range }))
        raw[Math.floor((r.time.getTime() - at(0).getTime()) / 3_600_000)]!.push(r.value);
      expect(res.rows.map((r) => r.time)).toEqual([at(0), at(60), at(120)]);
      res.rows.forEach((row, i) => {
        // Counters and delta see the bucket before: its readings come first (none before the first hour).
        const values =
          f.kind === 'basic' || f.kind === 'percentile' ? raw[i]! : [...(raw[i - 1] ?? []), ...raw[i]!];
        const want = oracle!(values, fn, raw[i - 1]?.length ?? 0);
        if (Number.isNaN(want)) expect(row[column]).toBeNull();
        else expect(row[column] as number).toBeCloseTo(want, 8);
      });
    },
  );
});

/** A counter's increase over readings, from the one at `from` on: each step, a drop counting from zero. */
const increaseOf = (v: number[], from: number) =>
  v
    .slice(Math.max(1, from))
    .reduce((a, x, j) => a + (x < v[Math.max(1, from) + j - 1]! ? x : x - v[Math.max(1, from) + j - 1]!), 0);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * What each registered function means, computed in JS; a function without an entry here fails the test.
 * Counters and delta get the previous bucket's readings first (`before` of them); NaN means empty.
 */
const oracles: Record<string, (values: number[], fn: string, before: number) => number> = {
  increase: (v, _fn, before) => increaseOf(v, before),
  rate: (v, _fn, before) => increaseOf(v, before) / 3600,
  delta: (v, _fn, before) => (before === 0 ? NaN : mean(v.slice(before)) - mean(v.slice(0, before))),
  avg: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  min: (v) => Math.min(...v),
  max: (v) => Math.max(...v),
  count: (v) => v.length,
  sum: (v) => v.reduce((a, b) => a + b, 0),
  stddev: (v) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  },
  // percentile_cont: linear interpolation between the two nearest ranks.
  pNN: (v, fn) => {
    const sorted = [...v].sort((a, b) => a - b);
    const pos = (Number(fn.slice(1)) / 100) * (sorted.length - 1);
    const lo = Math.floor(pos);
    return sorted[lo]! + (pos - lo) * ((sorted[Math.ceil(pos)] ?? sorted[lo]!) - sorted[lo]!);
  },
};
