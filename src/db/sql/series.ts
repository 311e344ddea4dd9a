// SQL for `iotctl series`: every selected series with its first and last reading (two probes of the
// (series_id, time DESC) index each) and the average step of its last 100 readings (for an estimate).
import type { Sql } from '../types.js';
import { Params, routedTo, seriesConditions, type SeriesFilter } from './query.js';
import { EVENTS, POINTS, SERIES } from './schema.js';

export interface SeriesOverviewRow {
  id: number;
  device: string;
  metric: string;
  unit: string | null;
  tags: Record<string, unknown> | null;
  first: Date | null;
  last: Date | null;
  /** Seconds between readings, averaged over the last 100; null below two readings. */
  step_seconds: number | null;
  /** The series' events (text and boolean values): first, last and how many; absent without an events table. */
  events_first?: Date | null;
  events_last?: Date | null;
  events?: string | number;
}

export function seriesOverview(filter: SeriesFilter, withEvents = false): Sql {
  const p = new Params();
  const where = seriesConditions(filter, p, 's.');
  const only = routedTo(filter, p);
  const onlyE = withEvents ? routedTo(filter, p, 'e') : '';
  // Events are few beside readings: counted exactly, through the (series_id, time DESC) index.
  const events = withEvents
    ? `,
       (SELECT e.time FROM ${EVENTS} e WHERE e.series_id = s.id${onlyE} ORDER BY e.time LIMIT 1) AS events_first,
       (SELECT e.time FROM ${EVENTS} e WHERE e.series_id = s.id${onlyE} ORDER BY e.time DESC LIMIT 1) AS events_last,
       (SELECT count(*) FROM ${EVENTS} e WHERE e.series_id = s.id${onlyE}) AS events`
    : '';
  const text = `SELECT s.id, s.device_id AS device, s.metric, s.unit, s.tags,
       (SELECT r.time FROM ${POINTS} r WHERE r.series_id = s.id${only} ORDER BY r.time LIMIT 1) AS first,
       (SELECT r.time FROM ${POINTS} r WHERE r.series_id = s.id${only} ORDER BY r.time DESC LIMIT 1) AS last,
       (SELECT extract(epoch FROM max(t) - min(t))::float8 / nullif(count(*) - 1, 0)
          FROM (SELECT r.time AS t FROM ${POINTS} r WHERE r.series_id = s.id${only} ORDER BY r.time DESC LIMIT 101) l
       ) AS step_seconds${events}
  FROM ${SERIES} s${where.length ? `\n WHERE ${where.join(' AND ')}` : ''}
 ORDER BY s.device_id, s.metric`;
  return { text, values: p.values };
}
