// SQL for maintenance: chunk listings with sizes, plain-mode rollup refresh and retention, the job ledger.
// Pure builders that return { text, values }; version differences come from ./timescale.js.
import type { Duration } from '../../util/duration.js';
import type { Sql } from '../types.js';
import { SCHEMA, qualified } from './ident.js';
import { ROLLUP_LOCK_KEY, dateBin } from './plain.js';
import { JOB_RUNS, META, POINTS, POLICIES } from './schema.js';
import { chunkCompressionStatsFn, type TsdbVersion } from './timescale.js';

/** The advisory lock every maintenance run takes (maintain, jobs run, rollup refresh, retention and compress
 * runs): the bytes of "iotctlmt" as a bigint. */
export const MAINTENANCE_LOCK_KEY = 7597419066901163380n;
export { ROLLUP_LOCK_KEY };

/** Ledger rows older than this are pruned by maintain. */
export const LEDGER_KEEP = '90 days';

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

/** Rollup rows of a plain rollup table whose bucket ends at or before $1, in the ChunkRow shape. */
export function plainRollupExpired(rollup: string, bucket: Duration, olderThan: Date): Sql {
  const table = qualified(rollup);
  // A table has no per-range size: the expired share of it is estimated by row count.
  const bytes = `(pg_total_relation_size('${table}') * e.n / greatest((SELECT count(*) FROM ${table}), 1))::bigint`;
  return {
    text: `SELECT '${table}' AS chunk, e.range_start, e.range_end, false AS compressed, e.n AS rows_estimate,
       ${bytes} AS bytes_before, ${bytes} AS bytes
  FROM (SELECT min(bucket) AS range_start, max(bucket) + $2::interval AS range_end, count(*)::bigint AS n
          FROM ${table} WHERE bucket <= $1::timestamptz - $2::interval) e
 WHERE e.n > 0`,
    values: [olderThan, bucket.interval],
  };
}

export function deletePlainRollupExpired(rollup: string, bucket: Duration, olderThan: Date): Sql {
  return {
    text: `DELETE FROM ${qualified(rollup)} WHERE bucket <= $1::timestamptz - $2::interval`,
    values: [olderThan, bucket.interval],
  };
}

export function dropPartition(chunk: string): Sql {
  const [schema, name] = chunk.split('.');
  if (schema !== SCHEMA || !name) throw new Error(`not an iotctl partition: ${chunk}`);
  return { text: `DROP TABLE IF EXISTS ${qualified(name)}` };
}

/**
 * Plain-mode rollup refresh: recomputes every bucket in [$1, $2) from the source (raw points for the
 * finest rollup, the previous rollup otherwise) and upserts it. $1 NULL means from the beginning.
 */
export function refreshPlainRollup(
  rollup: string,
  bucket: Duration,
  source: string | null,
  range: { from: Date | null; until: Date },
): Sql {
  const from = source === null ? POINTS : qualified(source);
  const timeCol = source === null ? 'time' : 'bucket';
  const aggregates =
    source === null
      ? 'count(*), sum(value), min(value), max(value), sum(value * value)'
      : 'sum(count), sum(sum), min(min), max(max), sum(sumsq)';
  const text = `INSERT INTO ${qualified(rollup)} (bucket, series_id, count, sum, min, max, sumsq)
SELECT ${dateBin(bucket.interval, timeCol)} AS b, series_id, ${aggregates}
  FROM ${from}
 WHERE ($1::timestamptz IS NULL OR ${timeCol} >= $1::timestamptz) AND ${timeCol} < $2::timestamptz
 GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE
   SET count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, sumsq = EXCLUDED.sumsq`;
  return { text, values: [range.from, range.until] };
}

export const watermarkKey = (rollup: string) => `watermark:${rollup}`;

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

/** Bytes of each rollup named, in the order given, in one query; a continuous aggregate's rows live in its
 * materialisation hypertable. */
export function tsdbRollupSizes(rollups: string[]): Sql {
  return {
    text: `SELECT r.name, coalesce(CASE WHEN ca.view_name IS NOT NULL THEN hypertable_size(format('%I.%I',
              ca.materialization_hypertable_schema, ca.materialization_hypertable_name)::regclass) END, 0)::bigint AS bytes
  FROM unnest($2::text[]) WITH ORDINALITY r(name, i)
  LEFT JOIN timescaledb_information.continuous_aggregates ca ON ca.view_schema = $1 AND ca.view_name = r.name
 ORDER BY r.i`,
    values: [SCHEMA, rollups],
  };
}

/** Bytes of each plain rollup table named, in the order given. */
export function plainRollupSizes(rollups: string[]): Sql {
  return {
    text: `SELECT r.name, coalesce(pg_total_relation_size(to_regclass(format('%I.%I', $1::text, r.name))), 0)::bigint AS bytes
  FROM unnest($2::text[]) WITH ORDINALITY r(name, i) ORDER BY r.i`,
    values: [SCHEMA, rollups],
  };
}

export const dirtyKey = (rollup: string) => `dirty:${rollup}`;

/** Inside a refresh transaction: the exclusive rollup lock, then the database's now(). */
export function lockRollupsExclusive(): Sql {
  return {
    text: 'SELECT pg_advisory_xact_lock($1::bigint), now() AS now',
    values: [ROLLUP_LOCK_KEY.toString()],
  };
}

/** A rollup's watermark, its dirty mark and its source's watermark, in one read. */
export function readRollupState(rollup: string, source: string | null): Sql {
  return {
    text: `SELECT (SELECT (value->>'until')::timestamptz FROM ${META} WHERE key = $1) AS until,
       (SELECT (value->>'from')::timestamptz FROM ${META} WHERE key = $2) AS dirty_from,
       (SELECT (value->>'until')::timestamptz FROM ${META} WHERE key = $3) AS source_until`,
    values: [watermarkKey(rollup), dirtyKey(rollup), source === null ? null : watermarkKey(source)],
  };
}

/** Where a plain rollup's source starts: the oldest partition of points, or the source rollup's first bucket. */
export function plainSourceStart(source: string | null): Sql {
  if (source !== null) return { text: `SELECT min(bucket) AS start FROM ${qualified(source)}` };
  return {
    text: `SELECT min((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz) AS start
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass('${POINTS}')`,
  };
}

/** dirty:<rollup> = least(existing, from). */
export function markDirty(rollup: string, from: Date): Sql {
  return {
    text: `INSERT INTO ${META} (key, value) VALUES ($1, jsonb_build_object('from', $2::text))
ON CONFLICT (key) DO UPDATE SET value = jsonb_build_object('from',
  CASE WHEN (${META}.value->>'from')::timestamptz <= $2::timestamptz THEN ${META}.value->>'from' ELSE $2::text END),
  updated_at = now()`,
    values: [dirtyKey(rollup), from.toISOString()],
  };
}

export function clearDirty(rollup: string): Sql {
  return { text: `DELETE FROM ${META} WHERE key = $1`, values: [dirtyKey(rollup)] };
}

/** Plain mode: how far raw data (or a rollup) may be dropped: until the rollup built on it is complete. */
export function readCompleteUntil(rollup: string): Sql {
  return {
    text: `SELECT CASE WHEN d.from_ts IS NULL OR d.from_ts > w.until THEN w.until ELSE d.from_ts END AS until
  FROM (SELECT (SELECT (value->>'until')::timestamptz FROM ${META} WHERE key = $1) AS until) w,
       (SELECT (SELECT (value->>'from')::timestamptz FROM ${META} WHERE key = $2) AS from_ts) d`,
    values: [watermarkKey(rollup), dirtyKey(rollup)],
  };
}

/** Retention ages (ms) of the TimescaleDB retention policies on points and the rollups. */
export function tsdbRetentionAges(): Sql {
  return {
    text: `SELECT hypertable_name AS target,
       (extract(epoch FROM (config->>'drop_after')::interval) * 1000)::float8 AS ms
  FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_schema = $1`,
    values: [SCHEMA],
  };
}

/** The refresh policies with their schedule and start_offset (ms; null for an open start). */
export function tsdbRefreshPolicies(): Sql {
  return {
    text: `SELECT hypertable_name AS rollup, schedule_interval::text AS schedule,
       (extract(epoch FROM (config->>'start_offset')::interval) * 1000)::float8 AS start_ms
  FROM timescaledb_information.jobs
 WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = $1`,
    values: [SCHEMA],
  };
}

/** Leftover 'running' rows: only called while holding the maintenance lock, so none of them is still running. */
export function ledgerMarkInterrupted(): Sql {
  return {
    text: `UPDATE ${JOB_RUNS} SET status = 'failed', finished_at = clock_timestamp(),
       error = 'interrupted: the run did not finish' WHERE status = 'running'`,
  };
}

export function ledgerPrune(): Sql {
  return { text: `DELETE FROM ${JOB_RUNS} WHERE started_at < now() - $1::interval`, values: [LEDGER_KEEP] };
}

/**
 * Per job: the latest run (DISTINCT ON over the (job, started_at DESC) index), the latest failure, and counts
 * over the ledger, which maintain keeps to LEDGER_KEEP.
 */
export function ledgerSummary(): Sql {
  return {
    text: `WITH latest AS (
  SELECT DISTINCT ON (job) job, started_at, status FROM ${JOB_RUNS} ORDER BY job, started_at DESC
), failure AS (
  SELECT DISTINCT ON (job) job, error FROM ${JOB_RUNS} WHERE status = 'failed' ORDER BY job, started_at DESC
), counts AS (
  SELECT job, count(*)::int AS runs, count(*) FILTER (WHERE status = 'failed')::int AS failures,
         max(finished_at) FILTER (WHERE status = 'success') AS last_success
    FROM ${JOB_RUNS} GROUP BY job
)
SELECT l.job, l.started_at AS last_started, l.status AS last_status, c.last_success, c.runs, c.failures,
       f.error AS last_error
  FROM latest l JOIN counts c USING (job) LEFT JOIN failure f USING (job)`,
  };
}

/** The database's clock. */
export const dbNow: Sql = { text: 'SELECT now() AS now' };
