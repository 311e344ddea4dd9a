// SQL for analysing what an ingest wrote: the chunks (partitions) of points that overlap its time ranges,
// and ANALYZE of a list of them. Neither engine here has autovacuum running for it (the embedded database
// has none; a server's may be minutes away), and until a chunk is analysed its row estimate is unknown.
import type { Sql } from '../types.js';
import { SCHEMA } from './ident.js';

/** Bounds of the ranges as two timestamptz arrays ($1 from, $2 to; both inclusive). */
function rangeValues(ranges: Array<[number, number]>): unknown[] {
  return [ranges.map((r) => new Date(r[0]).toISOString()), ranges.map((r) => new Date(r[1]).toISOString())];
}

/**
 * TimescaleDB: chunks of iotctl.points overlapping any range, newest first, leaving out chunks that are
 * compressed and hold no uncompressed rows (their rows are counted in the compression catalog).
 */
export function tsdbChunksOverlapping(ranges: Array<[number, number]>): Sql {
  return {
    text: `WITH r AS (SELECT * FROM unnest($1::timestamptz[], $2::timestamptz[]) AS r(lo, hi))
SELECT format('%I.%I', ch.schema_name, ch.table_name) AS chunk
  FROM _timescaledb_catalog.hypertable h
  JOIN _timescaledb_catalog.chunk ch ON ch.hypertable_id = h.id
  JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = ch.id
  JOIN _timescaledb_catalog.dimension_slice ds ON ds.id = cc.dimension_slice_id
 WHERE h.schema_name = '${SCHEMA}' AND h.table_name = 'points'
   AND NOT coalesce((to_jsonb(ch) ->> 'dropped')::boolean, false)
   AND (ch.status & 1 = 0 OR ch.status & 8 = 8)
   AND EXISTS (SELECT 1 FROM r WHERE _timescaledb_functions.to_timestamp(ds.range_start) <= r.hi
                                 AND _timescaledb_functions.to_timestamp(ds.range_end) > r.lo)
 ORDER BY ds.range_start DESC`,
    values: rangeValues(ranges),
  };
}

/** Plain mode: partitions of iotctl.points overlapping any range, newest first. */
export function partitionsOverlapping(ranges: Array<[number, number]>): Sql {
  return {
    text: `WITH r AS (SELECT * FROM unnest($1::timestamptz[], $2::timestamptz[]) AS r(lo, hi)),
parts AS (
  SELECT format('%I.%I', n.nspname, c.relname) AS chunk,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS range_start,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS range_end
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
   WHERE n.nspname = '${SCHEMA}' AND p.relname = 'points'
)
SELECT chunk FROM parts
 WHERE EXISTS (SELECT 1 FROM r WHERE parts.range_start <= r.hi AND parts.range_end > r.lo)
 ORDER BY range_start DESC`,
    values: rangeValues(ranges),
  };
}

const chunkNameRe = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/** ANALYZE of several chunks in one statement; names as the listings above return them (`schema.table`). */
export function analyseChunks(chunks: string[]): Sql {
  for (const c of chunks) if (!chunkNameRe.test(c)) throw new Error(`invalid chunk name '${c}'`);
  return { text: `ANALYZE ${chunks.join(', ')}` };
}
