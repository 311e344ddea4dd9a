// Exact text of the statements `iotctl query` builds (db/sql/query.ts).
import { dateBin } from '../../src/db/sql/plain.js';
import { timeBucket } from '../../src/db/sql/timescale.js';
import { describe, expect, it } from 'vitest';
import {
  aggFromSources,
  aggRaw,
  anyReadingIn,
  bucketGroups,
  countSeries,
  gapsBetween,
  latestReadings,
  orderedSeries,
  rawPage,
  readingsExtent,
  rowEstimate,
  seriesNames,
} from '../../src/db/sql/query.js';
import { parseDuration } from '../../src/util/duration.js';

const t = new Date('2026-01-05T00:00:00Z');
const mid = new Date('2026-01-05T10:00:00Z');
const end = new Date('2026-01-05T10:30:00Z');
const hour = parseDuration('1h');

describe('query SQL builders', () => {
  it('aggRaw: the functions asked for from raw readings, percentiles as one array, in series-rank order', () => {
    const spec = {
      bucket: dateBin,
      every: hour,
      ids: [3, 1],
      filtered: true,
      fns: ['avg', 'p50', 'count', 'p95'],
    };
    const sql = aggRaw(spec, { from: t, to: mid }, [0.5, 0.95]);
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT s.id, s.rank FROM unnest($1::int[]) WITH ORDINALITY AS s(id, rank))
SELECT a.series_id, date_part('epoch', a.bucket) * 1000 AS t, a.avg, a.count, a.percentiles
  FROM (
  SELECT r.series_id, date_bin(INTERVAL '1 hours', r.time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,
         avg(r.value) AS avg,
         count(*)::bigint AS count,
         percentile_cont($4::float8[]) WITHIN GROUP (ORDER BY r.value) AS percentiles
    FROM iotctl.points r
   WHERE r.time >= $2::timestamptz AND r.time < $3::timestamptz AND r.series_id = ANY($1::int[])
   GROUP BY 1, 2
  ) a JOIN sel ON sel.id = a.series_id
 ORDER BY sel.rank, a.bucket`);
    expect(sql.values).toEqual([[3, 1], t, mid, [0.5, 0.95]]);
  });
  it('aggRaw over every series: no series filter, only the order; on TimescaleDB with time_bucket', () => {
    const spec = {
      bucket: timeBucket,
      every: parseDuration('1d'),
      ids: [1, 2],
      filtered: false,
      fns: ['max'],
    };
    const sql = aggRaw(spec, { from: t, to: mid }, []);
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT s.id, s.rank FROM unnest($1::int[]) WITH ORDINALITY AS s(id, rank))
SELECT a.series_id, date_part('epoch', a.bucket) * 1000 AS t, a.max
  FROM (
  SELECT r.series_id, time_bucket(INTERVAL '1 days', r.time) AS bucket,
         max(r.value) AS max
    FROM iotctl.points r
   WHERE r.time >= $2::timestamptz AND r.time < $3::timestamptz
   GROUP BY 1, 2
  ) a JOIN sel ON sel.id = a.series_id
 ORDER BY sel.rank, a.bucket`);
    expect(sql.values).toEqual([[1, 2], t, mid]);
  });
  it('aggFromSources: segments sharing a bucket summed together, a rollup as wide as --every read as stored', () => {
    const m = (minutes: number) => new Date(t.getTime() + minutes * 60_000);
    const sql = aggFromSources(
      { bucket: dateBin, every: hour, ids: [2], filtered: true, fns: ['avg', 'stddev'] },
      [
        { source: 'raw', from: new Date(t.getTime() + 30_000), to: m(1), bucketMs: 0 },
        { source: 'rollup_1m', from: m(1), to: m(60), bucketMs: 60_000 },
        { source: 'rollup_1h', from: m(60), to: mid, bucketMs: 3_600_000 },
        { source: 'raw', from: mid, to: end, bucketMs: 0 },
      ],
    );
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT s.id, s.rank FROM unnest($1::int[]) WITH ORDINALITY AS s(id, rank))
SELECT a.series_id, date_part('epoch', a.bucket) * 1000 AS t, a.s / a.n AS avg, CASE WHEN a.n > 1 THEN sqrt(greatest(0, (a.ss - a.s * a.s / a.n) / (a.n - 1))) END AS stddev
  FROM (
  SELECT g.series_id, g.bucket, sum(g.n) AS n, sum(g.s) AS s, min(g.lo) AS lo, max(g.hi) AS hi, sum(g.ss) AS ss
    FROM (
      SELECT r.series_id, date_bin(INTERVAL '1 hours', r.time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, 1::float8 AS n, r.value AS s, r.value AS lo, r.value AS hi, r.value * r.value AS ss
      FROM iotctl.points r WHERE r.time >= $2::timestamptz AND r.time < $3::timestamptz AND r.series_id = ANY($1::int[])
      UNION ALL
      SELECT r.series_id, date_bin(INTERVAL '1 hours', r.bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, r.count::float8 AS n, r.sum AS s, r.min AS lo, r.max AS hi, r.sumsq AS ss
      FROM iotctl.rollup_1m r WHERE r.bucket >= $4::timestamptz AND r.bucket < $5::timestamptz AND r.series_id = ANY($1::int[])
    ) g GROUP BY 1, 2
  UNION ALL
  SELECT r.series_id, r.bucket AS bucket, r.count::float8 AS n, r.sum AS s, r.min AS lo, r.max AS hi, r.sumsq AS ss
      FROM iotctl.rollup_1h r WHERE r.bucket >= $6::timestamptz AND r.bucket < $7::timestamptz AND r.series_id = ANY($1::int[])
  UNION ALL
  SELECT g.series_id, g.bucket, sum(g.n) AS n, sum(g.s) AS s, min(g.lo) AS lo, max(g.hi) AS hi, sum(g.ss) AS ss
    FROM (
      SELECT r.series_id, date_bin(INTERVAL '1 hours', r.time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, 1::float8 AS n, r.value AS s, r.value AS lo, r.value AS hi, r.value * r.value AS ss
      FROM iotctl.points r WHERE r.time >= $8::timestamptz AND r.time < $9::timestamptz AND r.series_id = ANY($1::int[])
    ) g GROUP BY 1, 2
  ) a JOIN sel ON sel.id = a.series_id
 ORDER BY sel.rank, a.bucket`);
    expect(sql.values).toEqual([
      [2],
      new Date(t.getTime() + 30_000),
      m(1),
      m(1),
      m(60),
      m(60),
      mid,
      mid,
      end,
    ]);
  });
  it('bucketGroups: segments share a --every bucket only across a boundary that is not a bucket start', () => {
    const m = (minutes: number) => new Date(t.getTime() + minutes * 60_000);
    const seg = (source: string, from: number, to: number) => ({
      source,
      from: m(from),
      to: m(to),
      bucketMs: 0,
    });
    const groups = bucketGroups(
      [
        seg('rollup_1h', 60, 120),
        seg('raw', 0.5, 1),
        seg('rollup_1m', 1, 60),
        seg('rollup_1m', 120, 150),
        seg('raw', 150, 200),
      ],
      3_600_000,
    );
    expect(groups.map((g) => g.map((s) => [s.source, (s.from.getTime() - t.getTime()) / 60_000]))).toEqual([
      [
        ['raw', 0.5],
        ['rollup_1m', 1],
      ],
      [['rollup_1h', 60]],
      [
        ['rollup_1m', 120],
        ['raw', 150],
      ],
    ]);
  });
  it('orderedSeries: the selected series in output order, and how many there are in all', () => {
    const sql = orderedSeries({ metric: 'temp' });
    expect(sql.text)
      .toBe(`SELECT id, device_id AS device, metric, unit, (SELECT count(*) FROM iotctl.series)::int AS total
  FROM iotctl.series WHERE metric = $1
 ORDER BY device_id, metric`);
    expect(sql.values).toEqual(['temp']);
  });
  it('rowEstimate: an EXPLAIN of the rows of one source in a range (or in all), for the selected series when filtered', () => {
    const rollup = rowEstimate('rollup_1h', { from: t, to: mid }, [1, 2]);
    expect(rollup.text).toBe(
      'EXPLAIN (FORMAT JSON) SELECT 1 FROM iotctl.rollup_1h r WHERE r.bucket >= $1::timestamptz AND r.bucket < $2::timestamptz AND r.series_id = ANY($3::int[])',
    );
    expect(rollup.values).toEqual([t, mid, [1, 2]]);
    expect(rowEstimate('raw', { from: t, to: mid }, null)).toEqual({
      text: 'EXPLAIN (FORMAT JSON) SELECT 1 FROM iotctl.points r WHERE r.time >= $1::timestamptz AND r.time < $2::timestamptz',
      values: [t, mid],
    });
    expect(rowEstimate('rollup_1m', null, null)).toEqual({
      text: 'EXPLAIN (FORMAT JSON) SELECT 1 FROM iotctl.rollup_1m r',
      values: [],
    });
  });
  it('latestReadings: one LATERAL probe per series', () => {
    const sql = latestReadings({ metric: 'temp' });
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1)
SELECT l.time, sel.device_id AS device, sel.metric, l.value, sel.unit,
       extract(epoch FROM now() - l.time)::float8 AS age_seconds
  FROM sel
 CROSS JOIN LATERAL (SELECT r.time, r.value FROM iotctl.points r
                      WHERE r.series_id = sel.id ORDER BY r.time DESC LIMIT 1) l
 ORDER BY sel.device_id, sel.metric`);
    expect(sql.values).toEqual(['temp']);
  });
  it('latestReadings --stale: only series older than the interval', () => {
    const sql = latestReadings({ devices: ['a', 'b'] }, '15 minutes');
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE device_id = ANY($1::text[]))
SELECT l.time, sel.device_id AS device, sel.metric, l.value, sel.unit,
       extract(epoch FROM now() - l.time)::float8 AS age_seconds
  FROM sel
 CROSS JOIN LATERAL (SELECT r.time, r.value FROM iotctl.points r
                      WHERE r.series_id = sel.id ORDER BY r.time DESC LIMIT 1) l
 WHERE l.time < now() - $2::interval
 ORDER BY sel.device_id, sel.metric`);
    expect(sql.values).toEqual([['a', 'b'], '15 minutes']);
  });
  it('gapsBetween: steps longer than expected plus the tolerance, and the open gap to the end', () => {
    const sql = gapsBetween({ metric: 'temp' }, { from: t, to: mid }, '5 minutes', '150000 milliseconds');
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1),
steps AS (
  SELECT r.series_id, lag(r.time) OVER (PARTITION BY r.series_id ORDER BY r.time) AS gap_from, r.time AS gap_to
    FROM iotctl.points r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= $2::timestamptz AND r.time < $3::timestamptz
),
gaps AS (
  SELECT series_id, gap_from, gap_to, false AS open FROM steps WHERE gap_to - gap_from > $4::interval + $5::interval
  UNION ALL
  SELECT series_id, max(gap_to), least($3::timestamptz, now()), true FROM steps GROUP BY series_id
  HAVING least($3::timestamptz, now()) - max(gap_to) > $4::interval + $5::interval
)
SELECT sel.device_id AS device, sel.metric, g.gap_from AS "from", g.gap_to AS "to",
       extract(epoch FROM g.gap_to - g.gap_from)::float8 AS seconds,
       (ceil(extract(epoch FROM g.gap_to - g.gap_from - $5::interval) / extract(epoch FROM $4::interval)) - 1)::int AS missing,
       g.open
  FROM gaps g JOIN sel ON sel.id = g.series_id
 ORDER BY sel.device_id, sel.metric, g.gap_from`);
    expect(sql.values).toEqual(['temp', t, mid, '5 minutes', '150000 milliseconds']);
  });
  it('rawPage: the first page', () => {
    const sql = rawPage({ metric: 'temp' }, { from: t, to: mid }, 100);
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1)
SELECT r.series_id, r.time, sel.device_id AS device, sel.metric, r.value, sel.unit
  FROM iotctl.points r JOIN sel ON sel.id = r.series_id
 WHERE r.time >= $2::timestamptz AND r.time < $3::timestamptz
 ORDER BY r.series_id, r.time
 LIMIT $4::int`);
    expect(sql.values).toEqual(['temp', t, mid, 100]);
  });
  it('rawPage: a later page, after (series_id, time) spelled out', () => {
    const sql = rawPage({}, { from: t, to: mid }, 100, { seriesId: 7, time: end });
    expect(sql.text).toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series)
SELECT r.series_id, r.time, sel.device_id AS device, sel.metric, r.value, sel.unit
  FROM iotctl.points r JOIN sel ON sel.id = r.series_id
 WHERE r.time >= $1::timestamptz AND r.time < $2::timestamptz AND (r.series_id > $3::int OR (r.series_id = $3::int AND r.time > $4::timestamptz))
 ORDER BY r.series_id, r.time
 LIMIT $5::int`);
    expect(sql.values).toEqual([t, mid, 7, end, 100]);
  });
  it('the empty-result statements: series counts and names for the message, the extent of the readings, any in a range', () => {
    expect(countSeries({ metric: 'temp', deviceLike: 'hall-%' })).toEqual({
      text: 'SELECT count(*)::int AS n FROM iotctl.series WHERE metric = $1 AND device_id LIKE $2',
      values: ['temp', 'hall-%'],
    });
    const names = seriesNames('metric', { devices: ['a'] }, 10);
    expect(names.text)
      .toBe(`SELECT (SELECT count(DISTINCT metric) FROM iotctl.series WHERE device_id = ANY($1::text[]))::int AS total,
       ARRAY(SELECT DISTINCT metric FROM iotctl.series WHERE device_id = ANY($1::text[]) ORDER BY 1 LIMIT $2::int) AS names`);
    expect(names.values).toEqual([['a'], 10]);
    expect(readingsExtent({ metric: 'temp' }).text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1)
SELECT min(f.time) AS first, max(l.time) AS last
  FROM sel
 CROSS JOIN LATERAL (SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id ORDER BY r.time LIMIT 1) f
 CROSS JOIN LATERAL (SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id ORDER BY r.time DESC LIMIT 1) l`);
    const any = anyReadingIn({}, { from: t, to: mid });
    expect(any.text).toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series)
SELECT EXISTS (SELECT 1 FROM iotctl.points r JOIN sel ON sel.id = r.series_id
                WHERE r.time >= $1::timestamptz AND r.time < $2::timestamptz) AS found`);
    expect(any.values).toEqual([t, mid]);
  });
});
