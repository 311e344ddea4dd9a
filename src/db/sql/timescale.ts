// Every TimescaleDB statement whose spelling depends on the version is chosen here and nowhere else:
// create_hypertable(by_range) from 2.13, the columnstore API (ALTER ... enable_columnstore,
// add_columnstore_policy, convert_to_columnstore, CALL procedures) from 2.18.
import { literal } from './ident.js';
import type { Sql } from '../types.js';

export interface TsdbVersion {
  major: number;
  minor: number;
  patch: number;
}

export function parseTsdbVersion(version: string): TsdbVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) throw new Error(`unrecognised TimescaleDB version '${version}'`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

function atLeast(v: TsdbVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

export const hasByRange = (v: TsdbVersion) => atLeast(v, 2, 13);
export const hasColumnstore = (v: TsdbVersion) => atLeast(v, 2, 18);

export function createHypertable(v: TsdbVersion, table: string, timeColumn: string, interval: string): string {
  if (hasByRange(v)) {
    return `SELECT create_hypertable(${literal(table)}, by_range(${literal(timeColumn)}, INTERVAL ${literal(interval)}), create_default_indexes => false, if_not_exists => true)`;
  }
  return `SELECT create_hypertable(${literal(table)}, ${literal(timeColumn)}, chunk_time_interval => INTERVAL ${literal(interval)}, create_default_indexes => false, if_not_exists => true)`;
}

export function setChunkInterval(table: string, interval: string): string {
  return `SELECT set_chunk_time_interval(${literal(table)}, INTERVAL ${literal(interval)})`;
}

/** Compression (columnstore) settings: one segment per series, newest first inside it. */
export function enableCompression(v: TsdbVersion, table: string, segmentBy: string, orderBy: string): string {
  if (hasColumnstore(v)) {
    return `ALTER TABLE ${table} SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = ${literal(segmentBy)}, timescaledb.orderby = ${literal(orderBy)})`;
  }
  return `ALTER TABLE ${table} SET (timescaledb.compress = true, timescaledb.compress_segmentby = ${literal(segmentBy)}, timescaledb.compress_orderby = ${literal(orderBy)})`;
}

export function addCompressionPolicy(v: TsdbVersion, table: string, after: string): Sql {
  if (hasColumnstore(v)) {
    return {
      text: `CALL add_columnstore_policy(${literal(table)}, after => INTERVAL ${literal(after)}, if_not_exists => true)`,
    };
  }
  return {
    text: `SELECT add_compression_policy(${literal(table)}, compress_after => INTERVAL ${literal(after)}, if_not_exists => true)`,
  };
}

export function removeCompressionPolicy(v: TsdbVersion, table: string): Sql {
  if (hasColumnstore(v)) {
    return { text: `CALL remove_columnstore_policy(${literal(table)}, if_exists => true)` };
  }
  return { text: `SELECT remove_compression_policy(${literal(table)}, if_exists => true)` };
}

export function addRetentionPolicy(table: string, dropAfter: string): Sql {
  return {
    text: `SELECT add_retention_policy(${literal(table)}, drop_after => INTERVAL ${literal(dropAfter)}, if_not_exists => true)`,
  };
}

export function removeRetentionPolicy(table: string): Sql {
  return { text: `SELECT remove_retention_policy(${literal(table)}, if_exists => true)` };
}

export function addRefreshPolicy(view: string, endOffset: string, schedule: string): Sql {
  // start_offset NULL: refresh every invalidated range, so backfilled history reaches the rollup too.
  return {
    text: `SELECT add_continuous_aggregate_policy(${literal(view)}, start_offset => NULL, end_offset => INTERVAL ${literal(endOffset)}, schedule_interval => INTERVAL ${literal(schedule)}, if_not_exists => true)`,
  };
}
