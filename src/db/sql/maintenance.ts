// SQL for maintenance: chunk listings with sizes, plain-mode rollup refresh and retention, the job ledger.
// Pure builders that return { text, values }; version differences come from ./timescale.js.
import type { Duration } from '../../util/duration.js';
import type { Sql } from '../types.js';
import { SCHEMA, qualified } from './ident.js';
import { JOB_RUNS, META, POINTS, POLICIES, bucketExpr, type StoreMode } from './schema.js';
import { chunkCompressionStatsFn, type TsdbVersion } from './timescale.js';

/** Columns every chunk listing returns (TimescaleDB chunks and plain partitions alike). */
export interface ChunkRow {
  chunk: string;
  range_start: Date;
  range_end: Date;
  compressed: boolean;
  rows_estimate: number | null;
  bytes_before: number;
  bytes: number;
}

/**
 * Chunks of a hypertable or continuous aggregate (`relation`, $1), optionally only those entirely older
 * than $2 (show_chunks' own rule, the one drop_chunks applies), with rows and sizes before/after compression.
 * Rows of a compressed chunk come from TimescaleDB's compression catalog: the chunk itself is empty then.
 */
export function tsdbChunks(v: TsdbVersion, relation: string, olderThan?: Date): Sql {
  const stats = chunkCompressionStatsFn(v);
  const show = olderThan
    ? 'show_chunks($1::regclass, older_than => $2::timestamptz)'
    : 'show_chunks($1::regclass)';
  return {
    text: `SELECT c.chunk_schema || '.' || c.chunk_name AS chunk, c.range_start, c.range_end,
       c.is_compressed AS compressed,
       (CASE WHEN c.is_compressed THEN z.numrows_pre_compression
             WHEN pc.reltuples >= 0 THEN pc.reltuples END)::bigint AS rows_estimate,
       coalesce(st.before_compression_total_bytes, d.total_bytes)::bigint AS bytes_before,
       coalesce(d.total_bytes, 0)::bigint AS bytes
  FROM ${show} sc
  JOIN pg_class pc ON pc.oid = sc
  JOIN pg_namespace pn ON pn.oid = pc.relnamespace
  JOIN timescaledb_information.chunks c ON c.chunk_schema = pn.nspname AND c.chunk_name = pc.relname
  JOIN _timescaledb_catalog.chunk ch ON ch.schema_name = c.chunk_schema AND ch.table_name = c.chunk_name
  LEFT JOIN _timescaledb_catalog.compression_chunk_size z ON z.chunk_id = ch.id
  LEFT JOIN chunks_detailed_size($1::regclass) d ON d.chunk_schema = c.chunk_schema AND d.chunk_name = c.chunk_name
  LEFT JOIN ${stats}($1::regclass) st
    ON st.chunk_schema = c.chunk_schema AND st.chunk_name = c.chunk_name AND st.compression_status = 'Compressed'
 ORDER BY c.range_start`,
    values: olderThan ? [relation, olderThan] : [relation],
  };
}

/** drop_chunks with the same cutoff tsdbChunks(…, olderThan) lists; returns the dropped chunk names. */
export function dropChunksOlderThan(relation: string, olderThan: Date): Sql {
  return {
    text: 'SELECT c::text AS chunk FROM drop_chunks($1::regclass, older_than => $2::timestamptz) c',
    values: [relation, olderThan],
  };
}

/** Plain partitions of iotctl.points in the ChunkRow shape; with $1, only those entirely older than it. */
export function plainPartitions(olderThan?: Date): Sql {
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
   WHERE n.nspname = '${SCHEMA}' AND p.relname = 'points'
) parts${olderThan ? ' WHERE range_end <= $1::timestamptz' : ''}
 ORDER BY range_start`,
    values: olderThan ? [olderThan] : [],
  };
}

/** Rollup rows of a plain rollup table whose bucket ends at or before $1, in the ChunkRow shape. */
export function plainRollupExpired(rollup: string, bucket: Duration, olderThan: Date): Sql {
  const table = qualified(rollup);
  // A table has no per-range size: the expired share of it is estimated by row count.
  const bytes = `(pg_total_relation_size('${table}') * e.n / greatest((SELECT count(*) FROM ${table}), 1))::bigint`;
  return {
    text: `SELECT '${table}' AS chunk, e.range_start, e.range_end, false AS compressed, e.n AS rows_estimate,
       ${bytes} AS bytes_before, ${bytes} AS bytes
  FROM (SELECT min(bucket) AS range_start, max(bucket) + $2::interval AS range_end, count(*)::bigint AS n
          FROM ${table} WHERE bucket + $2::interval <= $1::timestamptz) e
 WHERE e.n > 0`,
    values: [olderThan, bucket.interval],
  };
}

export function deletePlainRollupExpired(rollup: string, bucket: Duration, olderThan: Date): Sql {
  return {
    text: `DELETE FROM ${qualified(rollup)} WHERE bucket + $2::interval <= $1::timestamptz`,
    values: [olderThan, bucket.interval],
  };
}

export function dropPartition(chunk: string): string {
  const [schema, name] = chunk.split('.');
  if (schema !== SCHEMA || !name) throw new Error(`not an iotctl partition: ${chunk}`);
  return `DROP TABLE IF EXISTS ${qualified(name)}`;
}

/**
 * Plain-mode rollup refresh: recomputes every bucket in [$1, $2) from the source (raw points for the
 * finest rollup, the previous rollup otherwise) and upserts it. $1 NULL means from the beginning.
 */
export function refreshPlainRollup(rollup: string, bucket: Duration, source: string | null): string {
  const from = source === null ? POINTS : qualified(source);
  const timeCol = source === null ? 'time' : 'bucket';
  const aggregates =
    source === null
      ? 'count(*), sum(value), min(value), max(value), sum(value * value)'
      : 'sum(count), sum(sum), min(min), max(max), sum(sumsq)';
  return `INSERT INTO ${qualified(rollup)} (bucket, series_id, count, sum, min, max, sumsq)
SELECT ${bucketExpr('plain', bucket.interval, timeCol)} AS b, series_id, ${aggregates}
  FROM ${from}
 WHERE ($1::timestamptz IS NULL OR ${timeCol} >= $1::timestamptz) AND ${timeCol} < $2::timestamptz
 GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE
   SET count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, sumsq = EXCLUDED.sumsq`;
}

export const watermarkKey = (rollup: string) => `watermark:${rollup}`;

export function readWatermark(rollup: string): Sql {
  return {
    text: `SELECT (value->>'until')::timestamptz AS until FROM ${META} WHERE key = $1`,
    values: [watermarkKey(rollup)],
  };
}

export function writeWatermark(rollup: string, until: Date): Sql {
  return {
    text: `INSERT INTO ${META} (key, value) VALUES ($1, jsonb_build_object('until', $2::text))
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    values: [watermarkKey(rollup), until.toISOString()],
  };
}

export function ledgerStart(job: string, jobId: number | null): Sql {
  return {
    text: `INSERT INTO ${JOB_RUNS} (job, job_id, started_at, status) VALUES ($1, $2, clock_timestamp(), 'running') RETURNING id`,
    values: [job, jobId],
  };
}

export function ledgerFinish(runId: number, error: string | null, details: unknown): Sql {
  return {
    text: `UPDATE ${JOB_RUNS} SET finished_at = clock_timestamp(), status = $2, error = $3, details = $4::jsonb WHERE id = $1`,
    values: [
      runId,
      error === null ? 'success' : 'failed',
      error,
      details === undefined ? null : JSON.stringify(details),
    ],
  };
}

/** now() - age by the database's clock. */
export function cutoffAgo(age: string): Sql {
  return { text: 'SELECT now() - $1::interval AS cutoff', values: [age] };
}

export function sameInterval(a: string, b: string): Sql {
  return { text: 'SELECT $1::interval = $2::interval AS same', values: [a, b] };
}

export function plainPolicyExists(kind: string, target: string): Sql {
  return { text: `SELECT 1 FROM ${POLICIES} WHERE kind = $1 AND target = $2`, values: [kind, target] };
}

export function upsertPlainPolicy(kind: string, target: string, after: string, schedule: string): Sql {
  return {
    text: `INSERT INTO ${POLICIES} (kind, target, after, schedule) VALUES ($1, $2, $3::interval, $4::interval)
ON CONFLICT (kind, target) DO UPDATE SET after = EXCLUDED.after, schedule = EXCLUDED.schedule`,
    values: [kind, target, after, schedule],
  };
}

export function deletePlainPolicy(kind: string, target: string): Sql {
  return { text: `DELETE FROM ${POLICIES} WHERE kind = $1 AND target = $2`, values: [kind, target] };
}

/** Bytes of a rollup: a continuous aggregate's rows live in its materialisation hypertable. */
export function rollupBytes(mode: StoreMode, rollup: string): Sql {
  if (mode === 'timescaledb') {
    return {
      text: `SELECT coalesce(hypertable_size(format('%I.%I', materialization_hypertable_schema,
                                               materialization_hypertable_name)::regclass), 0)::bigint AS bytes
  FROM timescaledb_information.continuous_aggregates WHERE view_schema = $1 AND view_name = $2`,
      values: [SCHEMA, rollup],
    };
  }
  return {
    text: 'SELECT coalesce(pg_total_relation_size(to_regclass($1)), 0)::bigint AS bytes',
    values: [qualified(rollup)],
  };
}
