// SQL for `iotctl delete`: readings of some series (in a time range), the rollup rows of buckets the range
// covers completely, and the series rows left with nothing.
import type { Sql } from '../types.js';
import { Params } from './query.js';
import { EVENTS, POINTS, SERIES } from './schema.js';

export interface Span {
  from: Date | null;
  to: Date | null;
}

function timeWhere(column: string, span: Span, p: Params): string {
  const parts: string[] = [];
  if (span.from) parts.push(`${column} >= ${p.add(span.from, '::timestamptz')}`);
  if (span.to) parts.push(`${column} < ${p.add(span.to, '::timestamptz')}`);
  return parts.map((x) => ` AND ${x}`).join('');
}

/** Per series: the readings in the span and all its readings. */
export function readingsToDelete(ids: number[], span: Span, table = POINTS): Sql {
  const p = new Params();
  const idList = p.add(ids, '::int[]');
  const inSpan = timeWhere('time', span, p).replace(/^ AND /, '');
  const text = `SELECT series_id, count(*) FILTER (WHERE ${inSpan || 'true'})::bigint AS gone, count(*)::bigint AS total
  FROM ${table} WHERE series_id = ANY(${idList}) GROUP BY series_id`;
  return { text, values: p.values };
}

/** Per series: its events in the span and all its events (iotctl.events, beside the readings). */
export function eventsToDelete(ids: number[], span: Span): Sql {
  return readingsToDelete(ids, span, EVENTS);
}

export function deleteEvents(ids: number[], span: Span): Sql {
  return deleteReadings(ids, span, EVENTS);
}

export function deleteReadings(ids: number[], span: Span, table = POINTS): Sql {
  const p = new Params();
  const text = `DELETE FROM ${table} WHERE series_id = ANY(${p.add(ids, '::int[]')})${timeWhere('time', span, p)}`;
  return { text, values: p.values };
}

/** Rows of `relation` (a rollup's table) for these series in buckets starting within the span. */
export function countRollupRows(relation: string, ids: number[], span: Span): Sql {
  const p = new Params();
  const text = `SELECT count(*)::bigint AS n FROM ${relation} WHERE series_id = ANY(${p.add(ids, '::int[]')})${timeWhere('bucket', span, p)}`;
  return { text, values: p.values };
}

export function deleteRollupRows(relation: string, ids: number[], span: Span): Sql {
  const p = new Params();
  const text = `DELETE FROM ${relation} WHERE series_id = ANY(${p.add(ids, '::int[]')})${timeWhere('bucket', span, p)}`;
  return { text, values: p.values };
}

/**
 * Citus, one shard's series at a time: those of `ids` with no reading left and no rollup row (Citus refuses
 * a DELETE on the reference table series that reads distributed tables, so this is read first, per shard).
 */
export function emptySeriesOfShard(ids: number[], rollupTables: string[]): Sql {
  const p = new Params();
  const list = p.add(ids, '::int[]');
  const none = [POINTS, ...rollupTables]
    .map((t) => `NOT EXISTS (SELECT 1 FROM ${t} x WHERE x.series_id = s.id AND x.series_id = ANY(${list}))`)
    .join(' AND ');
  return { text: `SELECT s.id FROM ${SERIES} s WHERE s.id = ANY(${list}) AND ${none}`, values: p.values };
}

/** The series rows of `ids`, their ids returned. */
export function deleteSeriesRows(ids: number[]): Sql {
  return { text: `DELETE FROM ${SERIES} WHERE id = ANY($1::int[]) RETURNING id`, values: [ids] };
}

/** Series of `ids` with no reading left and no row in any of the rollup tables: removed, their ids returned. */
export function deleteEmptySeries(ids: number[], rollupTables: string[]): Sql {
  const p = new Params();
  const none = [POINTS, ...rollupTables]
    .map((t) => `NOT EXISTS (SELECT 1 FROM ${t} x WHERE x.series_id = s.id)`)
    .join(' AND ');
  const text = `DELETE FROM ${SERIES} s WHERE s.id = ANY(${p.add(ids, '::int[]')}) AND ${none} RETURNING s.id`;
  return { text, values: p.values };
}
