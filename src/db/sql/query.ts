// SQL for `iotctl query`: series selection, aggregates (raw and recombined from rollups), latest, gaps, raw pages.
import { basicFunctions } from '../../query/functions.js';
import type { Sql } from '../types.js';
import { SCHEMA, literal, qualified } from './ident.js';
import { POINTS, SERIES } from './schema.js';

/** The storage engine's bucket expression (time_bucket or date_bin with the same origin). */
export type BucketFn = (interval: string, column: string) => string;

export interface SeriesFilter {
  metric?: string;
  devices?: string[];
  deviceLike?: string;
}

/** Collects parameter values and hands out their placeholders. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

/** `sel(id, device_id, metric, unit)`: the series the filter selects. */
export function selectSeries(filter: SeriesFilter, p: Params): string {
  const where: string[] = [];
  if (filter.metric !== undefined) where.push(`metric = ${p.add(filter.metric)}`);
  if (filter.devices?.length) where.push(`device_id = ANY(${p.add(filter.devices, '::text[]')})`);
  if (filter.deviceLike !== undefined) where.push(`device_id LIKE ${p.add(filter.deviceLike)}`);
  return `sel AS (SELECT id, device_id, metric, unit FROM ${SERIES}${where.length ? ` WHERE ${where.join(' AND ')}` : ''})`;
}

export interface AggSegment {
  /** `raw` or a rollup table name (rollup_1h). */
  source: string;
  from: Date;
  to: Date;
}

/**
 * Aggregates recombined from partial sums: each segment gives (count, sum, min, max, sumsq) per `every`
 * bucket and series, and the outer query recombines them with each function's `partials` SQL
 * (query/functions.ts), so a bucket split between a rollup and raw data is exact.
 */
export function aggCombined(
  bucket: BucketFn,
  every: string,
  segments: AggSegment[],
  filter: SeriesFilter,
): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const parts = segments.map((s) => {
    const from = p.add(s.from, '::timestamptz');
    const to = p.add(s.to, '::timestamptz');
    if (s.source === 'raw') {
      return `SELECT ${bucket(every, 'r.time')} AS bucket, r.series_id, count(*)::float8 AS n,
         sum(r.value) AS s, min(r.value) AS lo, max(r.value) AS hi, sum(r.value * r.value) AS ss
    FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= ${from} AND r.time < ${to}
   GROUP BY 1, 2`;
    }
    return `SELECT ${bucket(every, 'r.bucket')} AS bucket, r.series_id, sum(r.count)::float8 AS n,
         sum(r.sum) AS s, min(r.min) AS lo, max(r.max) AS hi, sum(r.sumsq) AS ss
    FROM ${qualified(s.source)} r JOIN sel ON sel.id = r.series_id
   WHERE r.bucket >= ${from} AND r.bucket < ${to}
   GROUP BY 1, 2`;
  });
  const text = `WITH ${sel},
parts AS (
  ${parts.join('\n  UNION ALL\n  ')}
)
SELECT a.bucket AS time, sel.device_id AS device, sel.metric, sel.unit,
       ${basicFunctions.map((f) => `${f.partials} AS ${f.name}`).join(',\n       ')}
  FROM parts a JOIN sel ON sel.id = a.series_id
 GROUP BY a.bucket, a.series_id, sel.device_id, sel.metric, sel.unit
 ORDER BY sel.device_id, sel.metric, a.bucket`;
  return { text, values: p.values };
}

/** Every basic aggregate straight from raw readings, and percentiles (`percentiles` as fractions, e.g. [0.95]). */
export function aggRaw(
  bucket: BucketFn,
  every: string,
  range: { from: Date; to: Date },
  filter: SeriesFilter,
  percentiles: number[],
): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const from = p.add(range.from, '::timestamptz');
  const to = p.add(range.to, '::timestamptz');
  const pct = percentiles.length
    ? `percentile_cont(${p.add(percentiles, '::float8[]')}) WITHIN GROUP (ORDER BY r.value)`
    : 'NULL::float8[]';
  const text = `WITH ${sel}
SELECT ${bucket(every, 'r.time')} AS time, sel.device_id AS device, sel.metric, sel.unit,
       ${basicFunctions.map((f) => `${f.raw} AS ${f.name}`).join(',\n       ')},
       ${pct} AS percentiles
  FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
 WHERE r.time >= ${from} AND r.time < ${to}
 GROUP BY 1, r.series_id, sel.device_id, sel.metric, sel.unit
 ORDER BY sel.device_id, sel.metric, 1`;
  return { text, values: p.values };
}

/**
 * Plain mode: the `watermark:<rollup>` rows `iotctl maintain` writes ({"until": ISO}, exclusive) and the
 * `dirty:<rollup>` rows ({"from": ISO}) that mark source rows changed below the watermark since the last
 * refresh (written by the trigger on points and by the refresh of the next finer rollup).
 */
export const plainRollupMarks: Sql = {
  text: `SELECT split_part(key, ':', 1) AS kind, substr(key, strpos(key, ':') + 1) AS rollup,
       coalesce(value->>'until', value->>'from')::timestamptz AS at
  FROM ${qualified('meta')} WHERE key LIKE 'watermark:%' OR key LIKE 'dirty:%'`,
};

/**
 * TimescaleDB mode: ranges changed below a continuous aggregate's watermark and not yet refreshed, as
 * inclusive [lo, hi] in ms, with the relation whose rows changed (`source`: points or a rollup). From the
 * hypertable invalidation log (rows written to points or to a lower rollup) and the materialization
 * invalidation log (below each aggregate's own watermark; above it the real-time union reads the source
 * anyway). Internal times are Unix microseconds; clamped to years 1..9999.
 */
export const pendingInvalidations: Sql = {
  text: `WITH caggs AS (
  SELECT mat_hypertable_id, raw_hypertable_id, user_view_name,
         _timescaledb_functions.cagg_watermark(mat_hypertable_id) AS wm
    FROM _timescaledb_catalog.continuous_agg WHERE user_view_schema = ${literal(SCHEMA)}
),
names AS (
  SELECT h.id, coalesce(c.user_view_name, h.table_name) AS name
    FROM _timescaledb_catalog.hypertable h LEFT JOIN caggs c ON c.mat_hypertable_id = h.id
)
SELECT n.name AS source,
       (greatest(l.lowest_modified_value, -62135596800000000) / 1000)::float8 AS lo,
       (least(l.greatest_modified_value, 253402300799000000) / 1000)::float8 AS hi
  FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log l
  JOIN names n ON n.id = l.hypertable_id
 WHERE l.hypertable_id IN (SELECT raw_hypertable_id FROM caggs)
UNION ALL
SELECT n.name,
       (greatest(m.lowest_modified_value, -62135596800000000) / 1000)::float8,
       (least(m.greatest_modified_value, c.wm - 1, 253402300799000000) / 1000)::float8
  FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log m
  JOIN caggs c ON c.mat_hypertable_id = m.materialization_id
  JOIN names n ON n.id = c.raw_hypertable_id
 WHERE m.lowest_modified_value < c.wm`,
};

/** The last reading of each selected series (one index probe per series), optionally only those older than `stale`. */
export function latestReadings(filter: SeriesFilter, stale?: string): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const staleWhere = stale ? `\n WHERE l.time < now() - ${p.add(stale, '::interval')}` : '';
  const text = `WITH ${sel}
SELECT l.time, sel.device_id AS device, sel.metric, l.value, sel.unit,
       extract(epoch FROM now() - l.time)::float8 AS age_seconds
  FROM sel
 CROSS JOIN LATERAL (SELECT r.time, r.value FROM ${POINTS} r
                      WHERE r.series_id = sel.id ORDER BY r.time DESC LIMIT 1) l${staleWhere}
 ORDER BY sel.device_id, sel.metric`;
  return { text, values: p.values };
}

/**
 * Gaps longer than `expected` between consecutive readings in [from, to), per series, plus an open gap
 * from a series' last reading in the range to `to` (capped at now) when that is longer than `expected`.
 */
export function gapsBetween(filter: SeriesFilter, range: { from: Date; to: Date }, expected: string): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const from = p.add(range.from, '::timestamptz');
  const to = p.add(range.to, '::timestamptz');
  const exp = p.add(expected, '::interval');
  const text = `WITH ${sel},
steps AS (
  SELECT r.series_id, lag(r.time) OVER (PARTITION BY r.series_id ORDER BY r.time) AS gap_from, r.time AS gap_to
    FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= ${from} AND r.time < ${to}
),
gaps AS (
  SELECT series_id, gap_from, gap_to, false AS open FROM steps WHERE gap_to - gap_from > ${exp}
  UNION ALL
  SELECT series_id, max(gap_to), least(${to}, now()), true FROM steps GROUP BY series_id
  HAVING least(${to}, now()) - max(gap_to) > ${exp}
)
SELECT sel.device_id AS device, sel.metric, g.gap_from AS "from", g.gap_to AS "to",
       extract(epoch FROM g.gap_to - g.gap_from)::float8 AS seconds,
       (ceil(extract(epoch FROM g.gap_to - g.gap_from) / extract(epoch FROM ${exp})) - 1)::int AS missing,
       g.open
  FROM gaps g JOIN sel ON sel.id = g.series_id
 ORDER BY sel.device_id, sel.metric, g.gap_from`;
  return { text, values: p.values };
}

/** One keyset page of raw readings ordered by (series_id, time), after `after` when given. */
export function rawPage(
  filter: SeriesFilter,
  range: { from: Date; to: Date },
  pageSize: number,
  after?: { seriesId: number; time: Date },
): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const from = p.add(range.from, '::timestamptz');
  const to = p.add(range.to, '::timestamptz');
  // Spelled out rather than as a row comparison `(series_id, time) > (a, b)`: on the embedded TimescaleDB
  // target that form repeated rows across pages (caught by test/integration/query.test.ts).
  let keyset = '';
  if (after) {
    const id = p.add(after.seriesId, '::int');
    keyset = ` AND (r.series_id > ${id} OR (r.series_id = ${id} AND r.time > ${p.add(after.time, '::timestamptz')}))`;
  }
  const text = `WITH ${sel}
SELECT r.series_id, r.time, sel.device_id AS device, sel.metric, r.value, sel.unit
  FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
 WHERE r.time >= ${from} AND r.time < ${to}${keyset}
 ORDER BY r.series_id, r.time
 LIMIT ${p.add(pageSize, '::int')}`;
  return { text, values: p.values };
}
