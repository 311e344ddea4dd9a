// SQL for `iotctl advise`: each series' cadence, the median step between its last readings (two probes of the
// (series_id, time DESC) index for its first and last reading, and at most CADENCE_SAMPLE readings read).
import type { Sql } from '../types.js';
import { Params, routedTo, seriesConditions, type SeriesFilter } from './query.js';
import { POINTS, SERIES } from './schema.js';

/** Readings per series the cadence is measured over (the newest ones). */
export const CADENCE_SAMPLE = 1001;

export interface SeriesCadenceRow {
  id: number;
  device: string;
  metric: string;
  first: Date | null;
  last: Date | null;
  /** Median seconds between consecutive readings of the sample; null below two readings. */
  step_seconds: number | null;
}

/**
 * Every selected series with its first and last reading and its cadence. With a routed group of ids (Citus)
 * each subquery on points is narrowed to the group too, so the statement runs whole on that shard's worker.
 */
export function seriesCadence(filter: SeriesFilter = {}): Sql {
  const p = new Params();
  const where = seriesConditions(filter, p, 's.');
  const only = routedTo(filter, p);
  const text = `SELECT s.id, s.device_id AS device, s.metric,
       (SELECT r.time FROM ${POINTS} r WHERE r.series_id = s.id${only} ORDER BY r.time LIMIT 1) AS first,
       (SELECT r.time FROM ${POINTS} r WHERE r.series_id = s.id${only} ORDER BY r.time DESC LIMIT 1) AS last,
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY d)
          FROM (SELECT extract(epoch FROM lag(t) OVER (ORDER BY t DESC) - t)::float8 AS d
                  FROM (SELECT r.time AS t FROM ${POINTS} r WHERE r.series_id = s.id${only}
                         ORDER BY r.time DESC LIMIT ${CADENCE_SAMPLE}) l) steps
         WHERE d > 0) AS step_seconds
  FROM ${SERIES} s${where.length ? `\n WHERE ${where.join(' AND ')}` : ''}
 ORDER BY s.device_id, s.metric`;
  return { text, values: p.values };
}
