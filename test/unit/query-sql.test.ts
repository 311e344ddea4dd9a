// Exact text of the statements `iotctl query` builds (db/sql/query.ts).
import { dateBin } from '../../src/db/sql/plain.js';
import { timeBucket } from '../../src/db/sql/timescale.js';
import { describe, expect, it } from 'vitest';
import { aggCombined, aggRaw, gapsBetween, latestReadings, rawPage } from '../../src/db/sql/query.js';

const t = new Date('2026-01-05T00:00:00Z');
const mid = new Date('2026-01-05T10:00:00Z');
const end = new Date('2026-01-05T10:30:00Z');

describe('query SQL builders', () => {
  it('aggRaw: every basic function from raw readings, percentiles as one array parameter', () => {
    const sql = aggRaw(dateBin, '1 hour', { from: t, to: mid }, { metric: 'temp' }, [0.5, 0.95]);
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1)
SELECT date_bin(INTERVAL '1 hour', r.time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS time, sel.device_id AS device, sel.metric, sel.unit,
       avg(r.value) AS avg,
       min(r.value) AS min,
       max(r.value) AS max,
       count(*)::bigint AS count,
       sum(r.value) AS sum,
       stddev_samp(r.value) AS stddev,
       percentile_cont($4::float8[]) WITHIN GROUP (ORDER BY r.value) AS percentiles
  FROM iotctl.points r JOIN sel ON sel.id = r.series_id
 WHERE r.time >= $2::timestamptz AND r.time < $3::timestamptz
 GROUP BY 1, r.series_id, sel.device_id, sel.metric, sel.unit
 ORDER BY sel.device_id, sel.metric, 1`);
    expect(sql.values).toEqual(['temp', t, mid, [0.5, 0.95]]);
  });
  it('aggRaw without percentiles: a NULL array, on TimescaleDB with time_bucket', () => {
    const sql = aggRaw(timeBucket, '1 day', { from: t, to: mid }, {}, []);
    expect(sql.text).toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series)
SELECT time_bucket(INTERVAL '1 day', r.time) AS time, sel.device_id AS device, sel.metric, sel.unit,
       avg(r.value) AS avg,
       min(r.value) AS min,
       max(r.value) AS max,
       count(*)::bigint AS count,
       sum(r.value) AS sum,
       stddev_samp(r.value) AS stddev,
       NULL::float8[] AS percentiles
  FROM iotctl.points r JOIN sel ON sel.id = r.series_id
 WHERE r.time >= $1::timestamptz AND r.time < $2::timestamptz
 GROUP BY 1, r.series_id, sel.device_id, sel.metric, sel.unit
 ORDER BY sel.device_id, sel.metric, 1`);
    expect(sql.values).toEqual([t, mid]);
  });
  it('aggCombined: a rollup segment and a raw segment, recombined per function', () => {
    const sql = aggCombined(
      dateBin,
      '1 hour',
      [
        { source: 'rollup_1h', from: t, to: mid },
        { source: 'raw', from: mid, to: end },
      ],
      { deviceLike: 'hall-%' },
    );
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE device_id LIKE $1),
parts AS (
  SELECT date_bin(INTERVAL '1 hour', r.bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, r.series_id, sum(r.count)::float8 AS n,
         sum(r.sum) AS s, min(r.min) AS lo, max(r.max) AS hi, sum(r.sumsq) AS ss
    FROM iotctl.rollup_1h r JOIN sel ON sel.id = r.series_id
   WHERE r.bucket >= $2::timestamptz AND r.bucket < $3::timestamptz
   GROUP BY 1, 2
  UNION ALL
  SELECT date_bin(INTERVAL '1 hour', r.time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, r.series_id, count(*)::float8 AS n,
         sum(r.value) AS s, min(r.value) AS lo, max(r.value) AS hi, sum(r.value * r.value) AS ss
    FROM iotctl.points r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= $4::timestamptz AND r.time < $5::timestamptz
   GROUP BY 1, 2
)
SELECT a.bucket AS time, sel.device_id AS device, sel.metric, sel.unit,
       sum(a.s) / sum(a.n) AS avg,
       min(a.lo) AS min,
       max(a.hi) AS max,
       sum(a.n)::bigint AS count,
       sum(a.s) AS sum,
       CASE WHEN sum(a.n) > 1
            THEN sqrt(greatest(0, (sum(a.ss) - sum(a.s) * sum(a.s) / sum(a.n)) / (sum(a.n) - 1))) END AS stddev
  FROM parts a JOIN sel ON sel.id = a.series_id
 GROUP BY a.bucket, a.series_id, sel.device_id, sel.metric, sel.unit
 ORDER BY sel.device_id, sel.metric, a.bucket`);
    expect(sql.values).toEqual(['hall-%', t, mid, mid, end]);
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
  it('gapsBetween: steps longer than expected, and the open gap to the end', () => {
    const sql = gapsBetween({ metric: 'temp' }, { from: t, to: mid }, '5 minutes');
    expect(sql.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1),
steps AS (
  SELECT r.series_id, lag(r.time) OVER (PARTITION BY r.series_id ORDER BY r.time) AS gap_from, r.time AS gap_to
    FROM iotctl.points r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= $2::timestamptz AND r.time < $3::timestamptz
),
gaps AS (
  SELECT series_id, gap_from, gap_to, false AS open FROM steps WHERE gap_to - gap_from > $4::interval
  UNION ALL
  SELECT series_id, max(gap_to), least($3::timestamptz, now()), true FROM steps GROUP BY series_id
  HAVING least($3::timestamptz, now()) - max(gap_to) > $4::interval
)
SELECT sel.device_id AS device, sel.metric, g.gap_from AS "from", g.gap_to AS "to",
       extract(epoch FROM g.gap_to - g.gap_from)::float8 AS seconds,
       (ceil(extract(epoch FROM g.gap_to - g.gap_from) / extract(epoch FROM $4::interval)) - 1)::int AS missing,
       g.open
  FROM gaps g JOIN sel ON sel.id = g.series_id
 ORDER BY sel.device_id, sel.metric, g.gap_from`);
    expect(sql.values).toEqual(['temp', t, mid, '5 minutes']);
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
});
