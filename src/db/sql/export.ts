// SQL for `iotctl export`: readings as exact text (microsecond times in UTC, values as PostgreSQL prints
// float8: the shortest text that reads back to the same double), in keyset pages by (series_id, time).
import type { Sql } from '../types.js';
import { Params, seriesConditions, type SeriesFilter } from './query.js';
import { POINTS, SERIES } from './schema.js';

/** Microseconds, UTC, in the ISO 8601 form `ingest` reads. */
const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

export interface ExportRow {
  series_id: number;
  time: string;
  device_id: string;
  metric: string;
  value: string;
  unit: string | null;
  tags: string | null;
}

/** One page of readings after `after` (the last series id and exact time text of the previous page). */
export function exportPage(
  filter: SeriesFilter,
  range: { from: Date | null; to: Date | null },
  pageSize: number,
  after?: { seriesId: number; time: string },
): Sql {
  const p = new Params();
  const where = seriesConditions(filter, p, 's.');
  if (range.from) where.push(`r.time >= ${p.add(range.from, '::timestamptz')}`);
  if (range.to) where.push(`r.time < ${p.add(range.to, '::timestamptz')}`);
  if (after) {
    // Spelled out, not as a row comparison (see rawPage).
    const id = p.add(after.seriesId, '::int');
    where.push(
      `(r.series_id > ${id} OR (r.series_id = ${id} AND r.time > ${p.add(after.time, '::timestamptz')}))`,
    );
  }
  const text = `SELECT r.series_id, to_char(r.time AT TIME ZONE 'UTC', ${ISO_UTC}) AS time, s.device_id, s.metric,
       r.value::text AS value, s.unit, s.tags::text AS tags
  FROM ${POINTS} r JOIN ${SERIES} s ON s.id = r.series_id${where.length ? `\n WHERE ${where.join('\n   AND ')}` : ''}
 ORDER BY r.series_id, r.time
 LIMIT ${p.add(pageSize, '::int')}`;
  return { text, values: p.values };
}
