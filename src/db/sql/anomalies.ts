// SQL for `iotctl anomalies`: which series to score and from when (history for the baseline), and their
// readings, one time slice at a time, packed into one row so that millions of readings cost no rows.
import type { Sql } from '../types.js';
import { POINTS } from './schema.js';
import { Params, routedTo, selectSeries, type SeriesFilter } from './query.js';

/**
 * The selected series, ordered by device and metric, each with `history_from`: where its scoring starts.
 * With `readings`, the `readings`-th reading before `since` (or the series' first reading when it has
 * fewer); with `lookbackMs`, `since` minus that; otherwise `since`. `first` is its first reading at or
 * after that point (NULL when it has none before `until`), so the scan can start there, and
 * `cadence_ms` the median interval between its last 33 readings before `until`.
 */
export function anomalySeries(
  filter: SeriesFilter,
  since: Date,
  until: Date,
  lookback: { readings?: number; ms?: number },
): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const only = routedTo(filter, p);
  const s = p.add(since, '::timestamptz');
  let from = s;
  if (lookback.readings) {
    const offset = p.add(lookback.readings - 1, '::int');
    from = `coalesce((SELECT r.time FROM ${POINTS} r WHERE r.series_id = sel.id${only} AND r.time < ${s}
                    ORDER BY r.time DESC OFFSET ${offset} LIMIT 1),
                   (SELECT r.time FROM ${POINTS} r WHERE r.series_id = sel.id${only} AND r.time < ${s}
                    ORDER BY r.time LIMIT 1),
                   ${s})`;
  } else if (lookback.ms) {
    from = `${s} - ${p.add(`${lookback.ms} milliseconds`, '::interval')}`;
  }
  const u = p.add(until, '::timestamptz');
  const text = `WITH ${sel},
h AS (SELECT sel.*, ${from} AS history_from FROM sel)
SELECT h.id, h.device_id AS device, h.metric, h.unit, h.history_from,
       (SELECT r.time FROM ${POINTS} r WHERE r.series_id = h.id${only} AND r.time >= h.history_from AND r.time < ${u}
         ORDER BY r.time LIMIT 1) AS first,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l.gap)
          FROM (SELECT extract(epoch FROM lag(x.time) OVER (ORDER BY x.time DESC) - x.time) * 1000 AS gap
                  FROM (SELECT r.time FROM ${POINTS} r WHERE r.series_id = h.id${only} AND r.time < ${u}
                         ORDER BY r.time DESC LIMIT 33) x) l) AS cadence_ms
  FROM h
 ORDER BY h.device_id, h.metric`;
  return { text, values: p.values };
}

/**
 * The readings of the given series in [from, to) as one row: `ids` (int4send), `times` (timestamptz_send:
 * microseconds since 2000-01-01) and `vals` (float8send), packed in the same order, which is the order
 * they were read in (no sort, no grouping: one pass over the slice, parallel where the server chooses).
 */
export function readingsSlice(
  seriesIds: number[],
  from: Date,
  to: Date,
  candidates?: (p: Params) => string,
): Sql {
  const p = new Params();
  const ids = p.add(seriesIds, '::int[]');
  const f = p.add(from, '::timestamptz');
  const t = p.add(to, '::timestamptz');
  // With `candidates`, `n` still counts every reading of the slice; only the candidates are packed.
  const only = candidates ? ` FILTER (WHERE ${candidates(p)})` : '';
  const text = `SELECT count(*)::int AS n, string_agg(int4send(r.series_id), ''::bytea)${only} AS ids,
       string_agg(timestamptz_send(r.time), ''::bytea)${only} AS times,
       string_agg(float8send(r.value), ''::bytea)${only} AS vals
  FROM ${POINTS} r
 WHERE r.series_id = ANY(${ids}) AND r.time >= ${f} AND r.time < ${t}`;
  return { text, values: p.values };
}

/**
 * readingsSlice with its packed columns sent as base64 text. A bytea column travels as hex text, two
 * characters a byte, and decoding that string costs the client more than scoring a reading with most
 * methods; base64 is four characters for three bytes, and both targets return it as a plain string.
 */
export function readingsSliceBase64(
  seriesIds: number[],
  from: Date,
  to: Date,
  candidates?: (p: Params) => string,
): Sql {
  const q = readingsSlice(seriesIds, from, to, candidates);
  const text = `SELECT s.n, encode(s.ids, 'base64') AS ids, encode(s.times, 'base64') AS times,
       encode(s.vals, 'base64') AS vals
  FROM (${q.text}) s`;
  return { text, values: q.values };
}
