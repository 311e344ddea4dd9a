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

export function createHypertable(
  v: TsdbVersion,
  table: string,
  timeColumn: string,
  interval: string,
): string {
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

/** From 2.19 refresh policies take buckets_per_batch (default 1 from 2.21, 10 later). */
export const hasBatchedRefresh = (v: TsdbVersion) => atLeast(v, 2, 19);

export function addRefreshPolicy(
  view: string,
  endOffset: string,
  schedule: string,
  v?: TsdbVersion,
  startOffset: string | null = null,
): Sql {
  // start_offset NULL (no retention on the source): refresh every invalidated range, so backfilled history
  // reaches the rollup too. With retention on the source the caller passes an offset shorter than it:
  // a refresh over dropped chunks would delete the rollup's rows for them.
  // buckets_per_batch 0: one batch per run. Measured on the embedded 2.23, the default batching refreshed
  // a 1-minute rollup of 576k readings in 252 s; one batch took 11 s.
  const batching = v && hasBatchedRefresh(v) ? ', buckets_per_batch => 0' : '';
  const start = startOffset === null ? 'NULL' : `INTERVAL ${literal(startOffset)}`;
  return {
    text: `SELECT add_continuous_aggregate_policy(${literal(view)}, start_offset => ${start}, end_offset => INTERVAL ${literal(endOffset)}, schedule_interval => INTERVAL ${literal(schedule)}, if_not_exists => true${batching})`,
  };
}

const chunkNameRe = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/** A chunk as `schema.name`, validated so it can be written as a literal regclass. */
export function chunkLiteral(chunk: string): string {
  if (!chunkNameRe.test(chunk)) throw new Error(`invalid chunk name '${chunk}'`);
  return literal(chunk);
}

/** Compresses one chunk; a chunk that is already compressed is left as it is. */
export function compressChunk(v: TsdbVersion, chunk: string): Sql {
  if (hasColumnstore(v))
    return { text: `CALL convert_to_columnstore(${chunkLiteral(chunk)}, if_not_columnstore => true)` };
  return { text: `SELECT compress_chunk(${chunkLiteral(chunk)}, if_not_compressed => true)` };
}

/** Decompresses one chunk; an uncompressed chunk is left as it is. */
export function decompressChunk(v: TsdbVersion, chunk: string): Sql {
  if (hasColumnstore(v))
    return { text: `CALL convert_to_rowstore(${chunkLiteral(chunk)}, if_columnstore => true)` };
  return { text: `SELECT decompress_chunk(${chunkLiteral(chunk)}, if_compressed => true)` };
}

/** The per-chunk compression statistics function of this version (same columns under both names). */
export function chunkCompressionStatsFn(v: TsdbVersion): string {
  return hasColumnstore(v) ? 'chunk_columnstore_stats' : 'chunk_compression_stats';
}

export function runJob(jobId: number): Sql {
  if (!Number.isInteger(jobId)) throw new Error(`invalid job id ${jobId}`);
  return { text: `CALL run_job(${jobId})` };
}

/** Refresh of a continuous aggregate; must run outside a transaction block (as its own statement). */
export function refreshContinuousAggregate(view: string, start: Date | null, end: Date | null): Sql {
  const bound = (d: Date | null) => (d ? `TIMESTAMPTZ ${literal(d.toISOString())}` : 'NULL');
  return { text: `CALL refresh_continuous_aggregate(${literal(view)}, ${bound(start)}, ${bound(end)})` };
}

export function removeRefreshPolicy(view: string): Sql {
  return { text: `SELECT remove_continuous_aggregate_policy(${literal(view)}, if_exists => true)` };
}
