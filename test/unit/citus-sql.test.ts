// Exact text of the Citus engine's statements (CI has no cluster): per-shard series groups and the
// per-series statements narrowed to one group, which Citus sends to one worker whole.
import { describe, expect, it } from 'vitest';
import { anomalySeries } from '../../src/db/sql/anomalies.js';
import { seriesCadence } from '../../src/db/sql/advise.js';
import { citusLatestReadings, citusPartitions, seriesShards } from '../../src/db/sql/citus.js';
import { deleteSeriesRows, emptySeriesOfShard } from '../../src/db/sql/delete.js';
import { anyReadingIn, latestReadings, readingsExtent } from '../../src/db/sql/query.js';
import { seriesOverview } from '../../src/db/sql/series.js';
import { planRows } from '../../src/query/sources.js';

const since = new Date('2026-01-05T06:00:00Z');
const until = new Date('2026-01-05T08:00:00Z');
const routed = 'AND r.series_id = ANY($2::int[])';

describe('Citus SQL', () => {
  it('seriesShards: the selected series in output order with the shard of points holding each', () => {
    const q = seriesShards({ metric: 'temp' });
    expect(q.text).toBe(`SELECT id, get_shard_id_for_distribution_column($1::regclass, id) AS shard
  FROM iotctl.series WHERE metric = $2
 ORDER BY device_id, metric`);
    expect(q.values).toEqual(['iotctl.points', 'temp']);
  });

  it('readingsExtent of a group: every reference to points pruned to the group', () => {
    const q = readingsExtent({ ids: [1, 5] });
    expect(q.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE id = ANY($1::int[]))
SELECT min(f.time) AS first, max(l.time) AS last
  FROM sel
 CROSS JOIN LATERAL (SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id ${routed} ORDER BY r.time LIMIT 1) f
 CROSS JOIN LATERAL (SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id ${routed} ORDER BY r.time DESC LIMIT 1) l`);
    expect(q.values).toEqual([
      [1, 5],
      [1, 5],
    ]);
  });

  it('anyReadingIn of a group: the EXISTS pruned to the group (over every shard it gathered the rows first)', () => {
    const q = anyReadingIn({ ids: [1, 5] }, { from: since, to: until });
    expect(q.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE id = ANY($1::int[]))
SELECT EXISTS (SELECT 1 FROM iotctl.points r JOIN sel ON sel.id = r.series_id
                WHERE r.time >= $3::timestamptz AND r.time < $4::timestamptz ${routed}) AS found`);
    expect(q.values).toEqual([[1, 5], [1, 5], since, until]);
  });

  it('seriesOverview of a group: first, last and step pruned to the group', () => {
    const q = seriesOverview({ ids: [1, 5] });
    expect(q.text).toBe(`SELECT s.id, s.device_id AS device, s.metric, s.unit, s.tags,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = s.id ${routed} ORDER BY r.time LIMIT 1) AS first,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = s.id ${routed} ORDER BY r.time DESC LIMIT 1) AS last,
       (SELECT extract(epoch FROM max(t) - min(t))::float8 / nullif(count(*) - 1, 0)
          FROM (SELECT r.time AS t FROM iotctl.points r WHERE r.series_id = s.id ${routed} ORDER BY r.time DESC LIMIT 101) l
       ) AS step_seconds
  FROM iotctl.series s
 WHERE s.id = ANY($1::int[])
 ORDER BY s.device_id, s.metric`);
  });

  it('delete: the empty series of one shard are read first, then their rows go from the reference table', () => {
    const q = emptySeriesOfShard([1, 5], ['iotctl.rollup_1h']);
    const none = (t: string) =>
      `NOT EXISTS (SELECT 1 FROM ${t} x WHERE x.series_id = s.id AND x.series_id = ANY($1::int[]))`;
    expect(q.text).toBe(
      `SELECT s.id FROM iotctl.series s WHERE s.id = ANY($1::int[]) AND ${none('iotctl.points')} AND ${none('iotctl.rollup_1h')}`,
    );
    expect(q.values).toEqual([[1, 5]]);
    expect(deleteSeriesRows([5]).text).toBe(
      'DELETE FROM iotctl.series WHERE id = ANY($1::int[]) RETURNING id',
    );
  });

  it('anomalySeries of a group: each of its four subqueries on points pruned to the group', () => {
    const q = anomalySeries({ ids: [1, 5] }, since, until, { readings: 300 });
    expect(q.text)
      .toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE id = ANY($1::int[])),
h AS (SELECT sel.*, coalesce((SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id ${routed} AND r.time < $3::timestamptz
                    ORDER BY r.time DESC OFFSET $4::int LIMIT 1),
                   (SELECT r.time FROM iotctl.points r WHERE r.series_id = sel.id ${routed} AND r.time < $3::timestamptz
                    ORDER BY r.time LIMIT 1),
                   $3::timestamptz) AS history_from FROM sel)
SELECT h.id, h.device_id AS device, h.metric, h.unit, h.history_from,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id ${routed} AND r.time >= h.history_from AND r.time < $5::timestamptz
         ORDER BY r.time LIMIT 1) AS first,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l.gap)
          FROM (SELECT extract(epoch FROM lag(x.time) OVER (ORDER BY x.time DESC) - x.time) * 1000 AS gap
                  FROM (SELECT r.time FROM iotctl.points r WHERE r.series_id = h.id ${routed} AND r.time < $5::timestamptz
                         ORDER BY r.time DESC LIMIT 33) x) l) AS cadence_ms
  FROM h
 ORDER BY h.device_id, h.metric`);
    expect(q.values).toEqual([[1, 5], [1, 5], since, 299, until]);
  });

  it("planRows: a Citus plan's rows are one task's remote plan times the tasks (its own figure is a constant)", () => {
    // Trimmed from EXPLAIN (FORMAT JSON) on Citus 13.2 (4 shards).
    const citus = {
      'Plan Rows': 100000,
      'Distributed Query': {
        Job: {
          'Task Count': 4,
          Tasks: [{ 'Remote Plan': [[{ Plan: { 'Plan Rows': 25921 } }]] }],
        },
      },
    };
    expect(planRows(citus)).toBe(4 * 25921);
    expect(planRows({ 'Plan Rows': 1234 })).toBe(1234);
  });

  it('seriesCadence of a group (advise): first, last and the cadence sample pruned to the group', () => {
    const q = seriesCadence({ ids: [1, 5] });
    expect(q.text).toBe(`SELECT s.id, s.device_id AS device, s.metric,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = s.id ${routed} ORDER BY r.time LIMIT 1) AS first,
       (SELECT r.time FROM iotctl.points r WHERE r.series_id = s.id ${routed} ORDER BY r.time DESC LIMIT 1) AS last,
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d)
          FROM (SELECT extract(epoch FROM lag(t) OVER (ORDER BY t DESC) - t)::float8 AS d
                  FROM (SELECT r.time AS t FROM iotctl.points r WHERE r.series_id = s.id ${routed}
                         ORDER BY r.time DESC LIMIT 1001) l) steps
         WHERE d > 0) AS step_seconds
  FROM iotctl.series s
 WHERE s.id = ANY($1::int[])
 ORDER BY s.device_id, s.metric`);
    expect(q.values).toEqual([
      [1, 5],
      [1, 5],
    ]);
    // Every series, one statement, where the engine does not group them.
    expect(seriesCadence().text).not.toMatch(/ANY|WHERE s\./);
  });

  it("citusPartitions: sizes from citus_shard_sizes(), row estimates summed from each node's analysed shards", () => {
    const olderThan = new Date('2026-01-01T00:00:00Z');
    const q = citusPartitions(olderThan);
    expect(q.text).toBe(String.raw`WITH sizes AS (
  SELECT s.logicalrelid AS relid, sum(z.size)::bigint AS bytes
    FROM citus_shard_sizes() z JOIN pg_dist_shard s ON s.shardid = z.shard_id
   GROUP BY s.logicalrelid
), nodes AS MATERIALIZED (
  SELECT x.result FROM run_command_on_all_nodes($q$SELECT coalesce(json_agg(json_build_object('shard', c.relname, 'tuples', c.reltuples)), '[]') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'iotctl' AND c.relkind = 'r' AND c.relname LIKE 'points\_p%' AND c.reltuples >= 0$q$) x WHERE x.success
), estimates AS (
  SELECT s.logicalrelid AS relid, sum(e.tuples)::bigint AS rows
    FROM nodes CROSS JOIN LATERAL json_to_recordset(nodes.result::json) AS e(shard text, tuples float8)
    JOIN (SELECT d.logicalrelid, r.relname || '_' || d.shardid AS shard
            FROM pg_dist_shard d JOIN pg_class r ON r.oid = d.logicalrelid) s ON s.shard = e.shard
   GROUP BY s.logicalrelid
)
SELECT * FROM (
  SELECT n.nspname || '.' || c.relname AS chunk,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz AS range_start,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS range_end,
         coalesce(am.amname = 'columnar', false) AS compressed,
         w.rows AS rows_estimate,
         coalesce(z.bytes, 0)::bigint AS bytes_before,
         coalesce(z.bytes, 0)::bigint AS bytes
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
    LEFT JOIN pg_am am ON am.oid = c.relam
    LEFT JOIN sizes z ON z.relid = c.oid
    LEFT JOIN estimates w ON w.relid = c.oid
   WHERE n.nspname = 'iotctl' AND p.relname = 'points'
) parts WHERE range_end <= $1::timestamptz
 ORDER BY range_start`);
    expect(q.values).toEqual([olderThan]);
  });

  it("citusLatestReadings: DISTINCT ON per shard inside latestReadings' own columns, --stale and order", () => {
    const q = citusLatestReadings({ metric: 'temp' }, '15 minutes');
    expect(q.text).toBe(`WITH sel AS (SELECT id, device_id, metric, unit FROM iotctl.series WHERE metric = $1)
SELECT l.time, sel.device_id AS device, sel.metric, l.value, sel.unit,
       extract(epoch FROM now() - l.time)::float8 AS age_seconds
  FROM sel
 JOIN (SELECT DISTINCT ON (r.series_id) r.series_id, r.time, r.value FROM iotctl.points r
         WHERE r.series_id IN (SELECT id FROM sel)
         ORDER BY r.series_id, r.time DESC) l ON l.series_id = sel.id
 WHERE l.time < now() - $2::interval
 ORDER BY sel.device_id, sel.metric`);
    expect(q.values).toEqual(['temp', '15 minutes']);
    // Only the join that finds each series' last reading differs from the other engines' statement.
    const other = latestReadings({ metric: 'temp' }, '15 minutes').text.split('\n');
    const citus = q.text.split('\n');
    expect(citus.slice(0, 4)).toEqual(other.slice(0, 4));
    expect(citus.slice(-2)).toEqual(other.slice(-2));
  });
});
