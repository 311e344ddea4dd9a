// SQL for `query agg`'s functions over a series' buckets: counter increases (resets counted), trailing moving
// windows and the change from the previous bucket, from the same raw and rollup segments as the plain aggregates.
import { aggregateFunctions, type BasicFunction, type CounterFunction } from '../../query/functions.js';
import type { Sql } from '../types.js';
import { qualified } from './ident.js';
import { Params, routedTo, selectSeries, type AggSegment, type AggSpec, type SeriesFilter } from './query.js';
import { POINTS } from './schema.js';

export interface BucketFnSpec extends AggSpec {
  /** The value functions (basic and counter ones), in output order; delta is `delta`, not one of these. */
  fns: string[];
  /** Buckets in the trailing moving window (the bucket and the ones before it); 0 for no window. */
  windowBuckets: number;
  /** Whether to add each function's change from the previous bucket. */
  delta: boolean;
  /** Buckets before this are read (for the window, delta and the counters' start) but not returned. */
  printFrom: Date;
  /** Whether a counter function is asked for: rollup segments then need their counter columns. */
  counters: boolean;
  /** Counters: the last reading of each series before the earliest segment (lastReadingBefore). */
  before?: PriorReading[];
}

export interface PriorReading {
  id: number;
  time: Date;
  value: number;
}

/**
 * The last reading before `before` of each series the filter selects (one index probe per series): where a
 * counter's first step starts. A statement of its own so that Citus runs it per shard (see perSeriesRows).
 */
export function lastReadingBefore(filter: SeriesFilter, before: Date): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const only = routedTo(filter, p);
  const text = `WITH ${sel}
SELECT sel.id, l.time, l.value
  FROM sel
 CROSS JOIN LATERAL (SELECT r.time, r.value FROM ${POINTS} r
                      WHERE r.series_id = sel.id${only} AND r.time < ${p.add(before, '::timestamptz')}
                      ORDER BY r.time DESC LIMIT 1) l`;
  return { text, values: p.values };
}

/** The output columns, in order: the functions, their moving windows, then their deltas. */
export function bucketFnColumns(spec: Pick<BucketFnSpec, 'fns' | 'windowBuckets' | 'delta'>): string[] {
  return [
    ...spec.fns,
    ...(spec.windowBuckets > 0 ? spec.fns.map((f) => `moving_${f}`) : []),
    ...(spec.delta ? spec.fns.map((f) => `delta_${f}`) : []),
  ];
}

type Recombined = BasicFunction | CounterFunction;

function recombined(name: string): Recombined {
  const f = aggregateFunctions.find((x) => x.name === name);
  if (!f || (f.kind !== 'basic' && f.kind !== 'counter'))
    throw new Error(`${name} cannot be computed per bucket from partial sums`);
  return f;
}

/**
 * One row per reading (raw) or rollup bucket, labelled with its --every bucket: the partial sums, and for
 * counters the row's time `t`, its first and last value and its increase within (`i`, 0 for a reading).
 */
function segmentRows(spec: BucketFnSpec, seg: AggSegment, ids: string, p: Params): string {
  const from = p.add(seg.from, '::timestamptz');
  const to = p.add(seg.to, '::timestamptz');
  const only = spec.filtered ? ` AND r.series_id = ANY(${ids})` : '';
  if (seg.source === 'raw') {
    return `SELECT r.series_id, ${spec.bucket(spec.every.interval, 'r.time')} AS bucket, 1::float8 AS n, r.value AS s, r.value AS lo, r.value AS hi, r.value * r.value AS ss,
             r.time AS t, r.value AS f, r.value AS l, 0::float8 AS i
        FROM ${POINTS} r WHERE r.time >= ${from} AND r.time < ${to}${only}`;
  }
  const bucket = seg.bucketMs === spec.every.ms ? 'r.bucket' : spec.bucket(spec.every.interval, 'r.bucket');
  const counter = spec.counters
    ? 'r.first AS f, r.last AS l, r.increase AS i'
    : 'NULL::float8 AS f, NULL::float8 AS l, NULL::float8 AS i';
  return `SELECT r.series_id, ${bucket} AS bucket, r.count::float8 AS n, r.sum AS s, r.min AS lo, r.max AS hi, r.sumsq AS ss,
             r.bucket AS t, ${counter}
        FROM ${qualified(seg.source)} r WHERE r.bucket >= ${from} AND r.bucket < ${to}${only}`;
}

/**
 * Per series and --every bucket: the functions, their trailing moving window (`moving_<fn>`, the window's
 * buckets recombined from their partial sums, so a moving average weighs every reading alike) and their
 * change from the previous bucket (`delta_<fn>`, empty when that bucket has no readings), in agg's output
 * order. A counter's increase sums, over its rows in time order, the row's increase within plus the step
 * from the previous row's last value to its first: `first - previous` or, after a drop (a reset), `first`.
 * The last reading before the earliest segment is the first step's previous value.
 */
export function aggBucketFns(spec: BucketFnSpec, segments: AggSegment[]): Sql {
  const p = new Params();
  const ids = p.add(spec.ids, '::int[]');
  const ordered = [...segments].sort((a, b) => a.from.getTime() - b.from.getTime());
  const rows = ordered.map((s) => segmentRows(spec, s, ids, p));
  if (spec.counters && spec.before?.length) {
    const b = spec.before;
    const unnest = `unnest(${p.add(
      b.map((r) => r.id),
      '::int[]',
    )}, ${p.add(
      b.map((r) => r.time),
      '::timestamptz[]',
    )}, ${p.add(
      b.map((r) => r.value),
      '::float8[]',
    )}) AS pr(id, time, value)`;
    rows.push(`SELECT pr.id, NULL::timestamptz, 0::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8,
             pr.time, pr.value, pr.value, 0::float8
        FROM ${unnest}`);
  }
  const steps = spec.counters
    ? `SELECT x.*, x.i + CASE WHEN x.prev IS NULL THEN 0 WHEN x.f < x.prev THEN x.f ELSE x.f - x.prev END AS inc
      FROM (SELECT src.*, lag(src.l) OVER (PARTITION BY src.series_id ORDER BY src.t) AS prev FROM src) x`
    : 'SELECT src.*, NULL::float8 AS inc FROM src';
  const secs = p.add(spec.every.ms / 1000, '::float8');
  const fns = spec.fns.map(recombined);
  const window = spec.windowBuckets > 0;
  const moving = window
    ? `,
  sum(b.n) OVER w AS wn, sum(b.s) OVER w AS ws, min(b.lo) OVER w AS wlo, max(b.hi) OVER w AS whi,
  sum(b.ss) OVER w AS wss, sum(b.inc) OVER w AS winc, b.secs * ${spec.windowBuckets} AS wsecs`
    : '';
  const frame = window
    ? `
    WINDOW w AS (PARTITION BY b.series_id ORDER BY b.bucket RANGE BETWEEN ${p.add(
      `${(spec.windowBuckets - 1) * (spec.every.ms / 1000)} seconds`,
      '::interval',
    )} PRECEDING AND CURRENT ROW)`
    : '';
  const values = [
    ...fns.map((f) => `${f.final} AS ${f.name}`),
    ...(window ? fns.map((f) => `${f.final.replace(/\ba\.(\w+)/g, 'a.w$1')} AS moving_${f.name}`) : []),
  ];
  const deltas = spec.delta
    ? fns.map(
        (f) =>
          `CASE WHEN lag(v.bucket) OVER o = v.bucket - ${p.add(spec.every.interval, '::interval')} THEN v.${f.name} - lag(v.${f.name}) OVER o END AS delta_${f.name}`,
      )
    : [];
  const printFrom = p.add(spec.printFrom, '::timestamptz');
  const columns = bucketFnColumns(spec).map((c) => `d.${c}`);
  const text = `WITH sel AS (SELECT s.id, s.rank FROM unnest(${ids}) WITH ORDINALITY AS s(id, rank)),
src AS (
  ${rows.join('\n  UNION ALL\n  ')}
),
steps AS (
  ${steps}
),
b AS (
  SELECT series_id, bucket, sum(n) AS n, sum(s) AS s, min(lo) AS lo, max(hi) AS hi, sum(ss) AS ss,
         sum(inc) AS inc, ${secs} AS secs
    FROM steps WHERE bucket IS NOT NULL GROUP BY 1, 2
),
m AS (
  SELECT b.*${moving}
    FROM b${frame}
),
v AS (
  SELECT a.series_id, a.bucket, ${values.join(', ')} FROM m a
),
d AS (
  SELECT v.*${deltas.map((x) => `,\n         ${x}`).join('')}
    FROM v${spec.delta ? '\n  WINDOW o AS (PARTITION BY v.series_id ORDER BY v.bucket)' : ''}
)
SELECT d.series_id, date_part('epoch', d.bucket) * 1000 AS t, ${columns.join(', ')}
  FROM d JOIN sel ON sel.id = d.series_id
 WHERE d.bucket >= ${printFrom}
 ORDER BY sel.rank, d.bucket`;
  return { text, values: p.values };
}
