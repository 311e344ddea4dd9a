// SQL for `iotctl query`: series selection, aggregates (raw and recombined from rollups), latest, gaps, raw pages.
import { basicFunctions } from '../../query/functions.js';
import { floorToBucket } from '../../util/buckets.js';
import type { Sql } from '../types.js';
import { SCHEMA, literal, qualified } from './ident.js';
import { POINTS, SERIES } from './schema.js';

/** The storage engine's bucket expression (time_bucket or date_bin with the same origin). */
export type BucketFn = (interval: string, column: string) => string;

export interface SeriesFilter {
  metric?: string;
  devices?: string[];
  deviceLike?: string;
  /** Only these series: a group the storage engine routes to one node (see StorageEngine.seriesGroups). */
  ids?: number[];
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
  return `sel AS (SELECT id, device_id, metric, unit FROM ${SERIES}${seriesWhere(filter, p)})`;
}

/** The conditions on a series row (`prefix`: its alias with a dot, or '') that the filter sets. */
export function seriesConditions(filter: SeriesFilter, p: Params, prefix = ''): string[] {
  const where: string[] = [];
  if (filter.metric !== undefined) where.push(`${prefix}metric = ${p.add(filter.metric)}`);
  if (filter.devices?.length) where.push(`${prefix}device_id = ANY(${p.add(filter.devices, '::text[]')})`);
  if (filter.deviceLike !== undefined) where.push(`${prefix}device_id LIKE ${p.add(filter.deviceLike)}`);
  if (filter.ids) where.push(`${prefix}id = ANY(${p.add(filter.ids, '::int[]')})`);
  return where;
}

/**
 * ` AND r.series_id = ANY($n)` when the filter is a routed group of ids, else '': what a correlated per-series
 * subquery adds so that Citus sees every reference to points pruned to the group's one shard and sends the
 * statement there whole (it refuses LIMIT in a correlated subquery it would have to split).
 */
export function routedTo(filter: SeriesFilter, p: Params, alias = 'r'): string {
  return filter.ids ? ` AND ${alias}.series_id = ANY(${p.add(filter.ids, '::int[]')})` : '';
}

/** `WHERE ...` of the series the filter selects, or '' for every series. */
function seriesWhere(filter: SeriesFilter, p: Params): string {
  const where = seriesConditions(filter, p);
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}

/**
 * The series the filter selects, in the order `agg` lists them (device, metric), and how many series there
 * are in all (`total`, on every row): their ids go to the aggregate as one array.
 */
export function orderedSeries(filter: SeriesFilter): Sql {
  const p = new Params();
  const text = `SELECT id, device_id AS device, metric, unit, (SELECT count(*) FROM ${SERIES})::int AS total
  FROM ${SERIES}${seriesWhere(filter, p)}
 ORDER BY device_id, metric`;
  return { text, values: p.values };
}

export interface AggSegment {
  /** `raw` or a rollup table name (rollup_1h). */
  source: string;
  from: Date;
  to: Date;
  /** The rollup's bucket in ms; 0 for raw. */
  bucketMs: number;
}

/** What every aggregate statement needs besides its sources. */
export interface AggSpec {
  bucket: BucketFn;
  every: { interval: string; ms: number };
  /** The selected series, in output order. */
  ids: number[];
  /** Whether `ids` is a subset of the series: then each source is filtered by it, not only ordered. */
  filtered: boolean;
  /** The functions asked for, in output order (basic ones: percentiles read raw data, see aggRaw). */
  fns: string[];
  /** Set: each row as the text fields of its CSV line, in the same order (query/agg-csv.ts). */
  lines?: AggLines;
}

/** One CSV line per row, as text fields: the series' own, and how the bucket and each value are written. */
export interface AggLines {
  /** Per series of `ids`, in that order: its device, metric and unit as CSV fields. */
  devices: string[];
  metrics: string[];
  units: string[];
  /** SQL of a bucket (timestamptz) as text, given it and its text output. */
  time: (column: string, text: string) => string;
  /** SQL of a value's text output (float8 or bigint, NULL for none) as the line writes it. */
  value: (text: string) => string;
}

/**
 * The shape both aggregate statements share: per-(series, bucket) rows `a` from `inner`, in output order
 * (the rank of the series in `ids`, then the bucket), with the bucket start as epoch milliseconds (`t`),
 * cheaper to read than a timestamp.
 */
function ordered(
  spec: AggSpec,
  p: Params,
  ids: string,
  inner: string,
  columns: Array<[name: string, expr: string]>,
): string {
  const lines = spec.lines;
  if (lines) {
    // One column per CSV field (COPY joins them with commas); each value's text computed once (OFFSET 0
    // keeps the subquery from being folded into the outer select, which would repeat its expressions).
    const devices = p.add(lines.devices, '::text[]');
    const metrics = p.add(lines.metrics, '::text[]');
    const units = p.add(lines.units, '::text[]');
    const byName = new Map(columns);
    const values = spec.fns.map((fn, i) => `(${byName.get(fn) ?? 'NULL'})::text AS v${i}`);
    const fields = [
      lines.time('q.bucket', 'q.bucket_text'),
      'q.device',
      'q.metric',
      ...spec.fns.map((_, i) => lines.value(`q.v${i}`)),
      'q.unit',
    ];
    return `SELECT ${fields.join(', ')} FROM (
SELECT a.bucket, a.bucket::text AS bucket_text, sel.device, sel.metric, sel.unit, ${values.join(', ')}
  FROM (
  ${inner}
  ) a JOIN unnest(${ids}, ${devices}, ${metrics}, ${units}) WITH ORDINALITY AS sel(id, device, metric, unit, rank) ON sel.id = a.series_id
 ORDER BY sel.rank, a.bucket OFFSET 0) q`;
  }
  return `WITH sel AS (SELECT s.id, s.rank FROM unnest(${ids}) WITH ORDINALITY AS s(id, rank))
SELECT a.series_id, date_part('epoch', a.bucket) * 1000 AS t, ${columns.map(([n, e]) => (e === `a.${n}` ? e : `${e} AS ${n}`)).join(', ')}
  FROM (
  ${inner}
  ) a JOIN sel ON sel.id = a.series_id
 ORDER BY sel.rank, a.bucket`;
}

/** The partial sums (n, s, lo, hi, ss) of one segment's rows, each labelled with its --every bucket. */
function segmentRows(spec: AggSpec, seg: AggSegment, ids: string, p: Params): string {
  const from = p.add(seg.from, '::timestamptz');
  const to = p.add(seg.to, '::timestamptz');
  const only = spec.filtered ? ` AND r.series_id = ANY(${ids})` : '';
  if (seg.source === 'raw') {
    return `SELECT r.series_id, ${spec.bucket(spec.every.interval, 'r.time')} AS bucket, 1::float8 AS n, r.value AS s, r.value AS lo, r.value AS hi, r.value * r.value AS ss
      FROM ${POINTS} r WHERE r.time >= ${from} AND r.time < ${to}${only}`;
  }
  // A rollup bucket as wide as --every is one output bucket: it needs no bucket expression.
  const bucket = seg.bucketMs === spec.every.ms ? 'r.bucket' : spec.bucket(spec.every.interval, 'r.bucket');
  return `SELECT r.series_id, ${bucket} AS bucket, r.count::float8 AS n, r.sum AS s, r.min AS lo, r.max AS hi, r.sumsq AS ss
      FROM ${qualified(seg.source)} r WHERE r.bucket >= ${from} AND r.bucket < ${to}${only}`;
}

/**
 * Segments that may hold parts of the same --every bucket, in time order: consecutive segments whose
 * boundary is not a bucket boundary. Segments are contiguous, so nothing else can share a bucket.
 */
export function bucketGroups(segments: AggSegment[], everyMs: number): AggSegment[][] {
  const groups: AggSegment[][] = [];
  for (const seg of [...segments].sort((a, b) => a.from.getTime() - b.from.getTime())) {
    const last = groups.at(-1);
    const boundary = seg.from.getTime();
    if (last && floorToBucket(boundary, everyMs) !== boundary) last.push(seg);
    else groups.push([seg]);
  }
  return groups;
}

/**
 * Aggregates from partial sums: each source segment gives (count, sum, min, max, sumsq) per --every bucket
 * and series, added up only where segments can share a bucket (bucketGroups); a rollup segment whose bucket
 * is --every is read as it is stored. Each function's `final` (query/functions.ts) computes it from the sums,
 * so a bucket split between a rollup and raw data is exact.
 */
export function aggFromSources(spec: AggSpec, segments: AggSegment[]): Sql {
  const p = new Params();
  const ids = p.add(spec.ids, '::int[]');
  const parts = bucketGroups(segments, spec.every.ms).map((group) => {
    const only = group.length === 1 ? group[0] : undefined;
    if (only && only.source !== 'raw' && only.bucketMs === spec.every.ms)
      return segmentRows(spec, only, ids, p);
    const rows = group.map((s) => segmentRows(spec, s, ids, p)).join('\n      UNION ALL\n      ');
    return `SELECT g.series_id, g.bucket, sum(g.n) AS n, sum(g.s) AS s, min(g.lo) AS lo, max(g.hi) AS hi, sum(g.ss) AS ss
    FROM (
      ${rows}
    ) g GROUP BY 1, 2`;
  });
  const columns = spec.fns.map((name): [string, string] => {
    const f = basicFunctions.find((b) => b.name === name);
    if (!f) throw new Error(`${name} cannot be recombined from partial sums`);
    return [f.name, f.final];
  });
  return { text: ordered(spec, p, ids, parts.join('\n  UNION ALL\n  '), columns), values: p.values };
}

/**
 * The functions asked for straight from raw readings, percentiles (`percentiles` as fractions, e.g. [0.95])
 * as one array column.
 */
export function aggRaw(spec: AggSpec, range: { from: Date; to: Date }, percentiles: number[]): Sql {
  const p = new Params();
  const ids = p.add(spec.ids, '::int[]');
  const from = p.add(range.from, '::timestamptz');
  const to = p.add(range.to, '::timestamptz');
  const only = spec.filtered ? ` AND r.series_id = ANY(${ids})` : '';
  const fns = basicFunctions.filter((f) => spec.fns.includes(f.name));
  const pct = percentiles.length
    ? [`percentile_cont(${p.add(percentiles, '::float8[]')}) WITHIN GROUP (ORDER BY r.value) AS percentiles`]
    : [];
  const inner = `SELECT r.series_id, ${spec.bucket(spec.every.interval, 'r.time')} AS bucket,
         ${[...fns.map((f) => `${f.raw} AS ${f.name}`), ...pct].join(',\n         ')}
    FROM ${POINTS} r
   WHERE r.time >= ${from} AND r.time < ${to}${only}
   GROUP BY 1, 2`;
  const columns: Array<[string, string]> = fns.map((f) => [f.name, `a.${f.name}`]);
  if (pct.length && spec.lines) {
    // A line writes each percentile on its own; the columns give them as one array.
    const names = spec.fns.filter((f) => !fns.some((b) => b.name === f));
    names.forEach((name, i) => columns.push([name, `a.percentiles[${i + 1}]`]));
  } else if (pct.length) columns.push(['percentiles', 'a.percentiles']);
  return { text: ordered(spec, p, ids, inner, columns), values: p.values };
}

/**
 * The planner's estimate of the rows of `source` (`raw` or a rollup) in [from, to), or in all when `range`
 * is null, for the cost choice; for the series `ids` when given.
 */
export function rowEstimate(
  source: string,
  range: { from: Date; to: Date } | null,
  ids: number[] | null,
): Sql {
  const [table, column] = source === 'raw' ? [POINTS, 'time'] : [qualified(source), 'bucket'];
  const p = new Params();
  const where = [
    ...(range
      ? [
          `r.${column} >= ${p.add(range.from, '::timestamptz')}`,
          `r.${column} < ${p.add(range.to, '::timestamptz')}`,
        ]
      : []),
    ...(ids ? [`r.series_id = ANY(${p.add(ids, '::int[]')})`] : []),
  ];
  return {
    text: `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${table} r${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    values: p.values,
  };
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

/**
 * `query latest`'s statement around `lastOf`, the join that yields `l(time, value)`, the last reading of each
 * series in `sel`: the columns, the --stale condition and the order, one for every engine.
 */
export function latestReadingsVia(filter: SeriesFilter, stale: string | undefined, lastOf: string): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const staleWhere = stale ? `\n WHERE l.time < now() - ${p.add(stale, '::interval')}` : '';
  const text = `WITH ${sel}
SELECT l.time, sel.device_id AS device, sel.metric, l.value, sel.unit,
       extract(epoch FROM now() - l.time)::float8 AS age_seconds
  FROM sel
 ${lastOf}${staleWhere}
 ORDER BY sel.device_id, sel.metric`;
  return { text, values: p.values };
}

/** The last reading of each selected series (one index probe per series), optionally only those older than `stale`. */
export function latestReadings(filter: SeriesFilter, stale?: string): Sql {
  return latestReadingsVia(
    filter,
    stale,
    `CROSS JOIN LATERAL (SELECT r.time, r.value FROM ${POINTS} r
                      WHERE r.series_id = sel.id ORDER BY r.time DESC LIMIT 1) l`,
  );
}

/**
 * Gaps between consecutive readings in [from, to) longer than `expected` plus `tolerance`, per series,
 * plus an open gap from a series' last reading in the range to `to` (capped at now) when that is longer
 * too. `missing` is the number of readings at the `expected` interval that fit in the gap, the last one
 * allowed to arrive up to `tolerance` late: ceil((length - tolerance) / expected) - 1, at least 1 (a 121 s
 * step on 1-minute readings with a 30 s tolerance misses one, not two).
 */
export function gapsBetween(
  filter: SeriesFilter,
  range: { from: Date; to: Date },
  expected: string,
  tolerance: string,
): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const from = p.add(range.from, '::timestamptz');
  const to = p.add(range.to, '::timestamptz');
  const exp = p.add(expected, '::interval');
  const tol = p.add(tolerance, '::interval');
  const limit = `${exp} + ${tol}`;
  const text = `WITH ${sel},
steps AS (
  SELECT r.series_id, lag(r.time) OVER (PARTITION BY r.series_id ORDER BY r.time) AS gap_from, r.time AS gap_to
    FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
   WHERE r.time >= ${from} AND r.time < ${to}
),
gaps AS (
  SELECT series_id, gap_from, gap_to, false AS open FROM steps WHERE gap_to - gap_from > ${limit}
  UNION ALL
  SELECT series_id, max(gap_to), least(${to}, now()), true FROM steps GROUP BY series_id
  HAVING least(${to}, now()) - max(gap_to) > ${limit}
)
SELECT sel.device_id AS device, sel.metric, g.gap_from AS "from", g.gap_to AS "to",
       extract(epoch FROM g.gap_to - g.gap_from)::float8 AS seconds,
       (ceil(extract(epoch FROM g.gap_to - g.gap_from - ${tol}) / extract(epoch FROM ${exp})) - 1)::int AS missing,
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

/** How many series the filter selects (for saying which filter matched nothing). */
export function countSeries(filter: SeriesFilter): Sql {
  const p = new Params();
  return { text: `SELECT count(*)::int AS n FROM ${SERIES}${seriesWhere(filter, p)}`, values: p.values };
}

/**
 * The distinct metrics or device ids of the series the filter selects: how many in all, and the first
 * `limit` in order (for an error message that lists what exists).
 */
export function seriesNames(column: 'metric' | 'device_id', filter: SeriesFilter, limit: number): Sql {
  const p = new Params();
  const where = seriesWhere(filter, p);
  const text = `SELECT (SELECT count(DISTINCT ${column}) FROM ${SERIES}${where})::int AS total,
       ARRAY(SELECT DISTINCT ${column} FROM ${SERIES}${where} ORDER BY 1 LIMIT ${p.add(limit, '::int')}) AS names`;
  return { text, values: p.values };
}

/** The first and last reading of the selected series (two index probes per series; NULLs when none). */
export function readingsExtent(filter: SeriesFilter): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const only = routedTo(filter, p);
  const text = `WITH ${sel}
SELECT min(f.time) AS first, max(l.time) AS last
  FROM sel
 CROSS JOIN LATERAL (SELECT r.time FROM ${POINTS} r WHERE r.series_id = sel.id${only} ORDER BY r.time LIMIT 1) f
 CROSS JOIN LATERAL (SELECT r.time FROM ${POINTS} r WHERE r.series_id = sel.id${only} ORDER BY r.time DESC LIMIT 1) l`;
  return { text, values: p.values };
}

/** Whether any selected series has a reading in [from, to). */
export function anyReadingIn(filter: SeriesFilter, range: { from: Date; to: Date }): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const only = routedTo(filter, p);
  const text = `WITH ${sel}
SELECT EXISTS (SELECT 1 FROM ${POINTS} r JOIN sel ON sel.id = r.series_id
                WHERE r.time >= ${p.add(range.from, '::timestamptz')} AND r.time < ${p.add(range.to, '::timestamptz')}${only}) AS found`;
  return { text, values: p.values };
}
