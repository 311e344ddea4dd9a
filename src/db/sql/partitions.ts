// Plain PostgreSQL mode: native range partitions of iotctl.points (and of iotctl.events), one per chunk
// interval, aligned to the epoch.
import { SCHEMA } from './ident.js';
import type { Sql } from '../types.js';

/** Plain mode keeps this many partitions ready ahead of now (init and maintain). */
export const PARTITIONS_AHEAD = 7;

export function partitionStart(timeMs: number, intervalMs: number): number {
  return Math.floor(timeMs / intervalMs) * intervalMs;
}

/** The partitioned tables: the readings and the events, partitioned alike. */
export type PartitionedTable = 'points' | 'events';

export function partitionName(startMs: number, parent: PartitionedTable = 'points'): string {
  const iso = new Date(startMs).toISOString(); // 2026-11-22T00:00:00.000Z
  return `${parent}_p${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

export function createPartition(
  startMs: number,
  intervalMs: number,
  parent: PartitionedTable = 'points',
): Sql {
  const from = new Date(startMs).toISOString();
  const to = new Date(startMs + intervalMs).toISOString();
  return {
    text: `CREATE TABLE IF NOT EXISTS ${SCHEMA}.${partitionName(startMs, parent)} PARTITION OF ${SCHEMA}.${parent} FOR VALUES FROM ('${from}') TO ('${to}')`,
  };
}

/**
 * Partitions of iotctl.points with their bounds from the catalog, oldest first, in the chunk-listing shape
 * (chunk, range_start, range_end, compressed, rows_estimate, bytes_before, bytes); with `olderThan`, only
 * those entirely older than it. The one catalog query for partition bounds.
 */
export function partitionsSql(olderThan?: Date, parent: PartitionedTable = 'points'): Sql {
  return {
    text: `SELECT * FROM (
  SELECT n.nspname || '.' || c.relname AS chunk,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS range_start,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS range_end,
         false AS compressed,
         (CASE WHEN c.reltuples >= 0 THEN c.reltuples END)::bigint AS rows_estimate,
         pg_total_relation_size(c.oid)::bigint AS bytes_before,
         pg_total_relation_size(c.oid)::bigint AS bytes
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
   WHERE n.nspname = '${SCHEMA}' AND p.relname = '${parent}'
) parts${olderThan ? ' WHERE range_end <= $1::timestamptz' : ''}
 ORDER BY range_start`,
    values: olderThan ? [olderThan] : [],
  };
}

/** Every partition of iotctl.points (or iotctl.events), oldest first. */
export const listPartitions = (parent: PartitionedTable = 'points'): Sql => partitionsSql(undefined, parent);
