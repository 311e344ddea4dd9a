// SQL for maintenance: chunk listings with sizes, plain-mode rollup refresh and retention, the job ledger.
// Pure builders that return { text, values }; version differences come from ./timescale.js.
import type { Duration } from '../../util/duration.js';
import type { Sql } from '../types.js';
import { SCHEMA, qualified } from './ident.js';
import { ROLLUP_LOCK_KEY, dateBin } from './plain.js';
import { JOB_RUNS, META, POINTS, POLICIES, counterColumns } from './schema.js';

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

/** The data directory's relation file sizes (file node → bytes), as the jsonb parameter totalRelationSize reads. */
export function relationFilesParam(files: ReadonlyMap<number, number>): string {
  return JSON.stringify(Object.fromEntries(files));
}

/**
 * pg_total_relation_size(rel): the relation, its toast table and the indexes of both, every fork. Given `files`,
 * the placeholder of the data directory's file sizes (relationFilesParam), the same figure added up from those
 * instead: through the embedded database's emulated file system the size function costs a stat call per fork
 * and segment probed, most of them for forks that do not exist (20,000 for the 1,853 chunks of the four sample
 * sets), these catalog lookups none. A relation with a file the walk did not see (created or rewritten since,
 * temporary, in another tablespace, a mapped catalog) is sized by the database.
 */
export function totalRelationSize(rel: string, files?: string): string {
  if (!files) return `pg_total_relation_size(${rel})`;
  const known = `f.relfilenode <> 0 AND f.reltablespace = 0 AND f.relpersistence <> 't' AND (${files} ->> f.relfilenode::text) IS NOT NULL`;
  return `(SELECT CASE WHEN bool_and(${known}) THEN sum((${files} ->> f.relfilenode::text)::bigint) ELSE pg_total_relation_size(o.oid) END
     FROM (SELECT c.oid, c.reltoastrelid FROM pg_class c WHERE c.oid = ${rel}) o
     CROSS JOIN LATERAL (
       SELECT r.relfilenode, r.reltablespace, r.relpersistence FROM pg_class r WHERE r.oid IN (o.oid, o.reltoastrelid)
       UNION ALL
       SELECT r.relfilenode, r.reltablespace, r.relpersistence FROM pg_index i JOIN pg_class r ON r.oid = i.indexrelid
        WHERE i.indrelid IN (o.oid, o.reltoastrelid)) f
    GROUP BY o.oid)`;
}

/**
 * The chunks of the hypertable behind `relation` ($1: a hypertable, or a continuous aggregate and then its
 * materialisation hypertable), read from TimescaleDB's catalog with each chunk's current size. Not through
 * timescaledb_information.chunks, chunks_detailed_size and chunk_compression_stats: those compute every chunk
 * of every hypertable before the join picks some, and relation_size stats each index file twice (it adds
 * pg_indexes_size to pg_total_relation_size); on the embedded database every file-system call goes through the
 * WASM layer, and the four sample sets make 1,853 chunks. The size is the one chunks_detailed_size reports:
 * pg_total_relation_size of the chunk plus that of its compressed chunk (with `files`, see totalRelationSize).
 */
function tsdbChunkSet(where = '', files?: string): string {
  return `WITH rel AS (
  SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass
), ht AS (
  SELECT h.id FROM _timescaledb_catalog.hypertable h JOIN rel ON h.schema_name = rel.nspname AND h.table_name = rel.relname
  UNION ALL
  SELECT a.mat_hypertable_id FROM _timescaledb_catalog.continuous_agg a
    JOIN rel ON a.user_view_schema = rel.nspname AND a.user_view_name = rel.relname
), chunks AS (
  SELECT ch.id, ch.schema_name || '.' || ch.table_name AS chunk,
         ch.status & 1 = 1 AS compressed,
         (CASE WHEN ch.status & 1 = 1 THEN z.numrows_pre_compression
               WHEN pc.reltuples >= 0 THEN pc.reltuples END)::bigint AS rows_estimate,
         CASE WHEN ch.compressed_chunk_id IS NOT NULL
              THEN z.uncompressed_heap_size + z.uncompressed_toast_size + z.uncompressed_index_size END AS uncompressed_bytes,
         coalesce(${totalRelationSize('pc.oid', files)}, 0)
           + coalesce(${totalRelationSize("to_regclass(quote_ident(comp.schema_name) || '.' || quote_ident(comp.table_name))", files)}, 0) AS bytes
    FROM ht
    -- 'dropped' is a column up to some 2.2x releases (2.23 has it, 2.28 not): read it where it exists.
    JOIN _timescaledb_catalog.chunk ch ON ch.hypertable_id = ht.id AND NOT coalesce((to_jsonb(ch) ->> 'dropped')::boolean, false) AND NOT ch.osm_chunk
    JOIN pg_namespace pn ON pn.nspname = ch.schema_name
    JOIN pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = ch.table_name
    LEFT JOIN _timescaledb_catalog.chunk comp ON comp.id = ch.compressed_chunk_id
    LEFT JOIN _timescaledb_catalog.compression_chunk_size z ON z.chunk_id = ch.id${where}
)`;
}

/**
 * Chunks of a hypertable or continuous aggregate (`relation`, $1), optionally only those entirely older
 * than $2 (show_chunks' own rule, the one drop_chunks applies), with rows and sizes before/after compression,
 * oldest first. Rows of a compressed chunk come from TimescaleDB's compression catalog: the chunk itself is
 * empty then; its size before compression too. The range is the chunk's slice in the first dimension, as
 * the information view shows it; aggregated, because with ORDER BY dimension_id LIMIT 1 the planner walks
 * every slice of the dimension by its index for each chunk (20 s for 1,853 chunks).
 */
export function tsdbChunks(
  relation: string,
  olderThan?: Date,
  files?: ReadonlyMap<number, number> | null,
): Sql {
  const expired = olderThan
    ? '\n   WHERE pc.oid IN (SELECT show_chunks($1::regclass, older_than => $2::timestamptz))'
    : '';
  const values: unknown[] = olderThan ? [relation, olderThan] : [relation];
  const filesAt = files ? `$${values.push(relationFilesParam(files))}::jsonb` : undefined;
  return {
    text: `${tsdbChunkSet(expired, filesAt)}
SELECT c.chunk, _timescaledb_functions.to_timestamp(r.range_start) AS range_start,
       _timescaledb_functions.to_timestamp(r.range_end) AS range_end, c.compressed, c.rows_estimate,
       coalesce(c.uncompressed_bytes, c.bytes)::bigint AS bytes_before, c.bytes::bigint AS bytes
  FROM chunks c
 CROSS JOIN LATERAL (
   SELECT (array_agg(ds.range_start ORDER BY ds.dimension_id))[1] AS range_start,
          (array_agg(ds.range_end ORDER BY ds.dimension_id))[1] AS range_end
     FROM _timescaledb_catalog.chunk_constraint cc
     JOIN _timescaledb_catalog.dimension_slice ds ON ds.id = cc.dimension_slice_id
    WHERE cc.chunk_id = c.id) r
 ORDER BY r.range_start, c.chunk`,
    values,
  };
}

/** What tsdbChunks lists for `relation`, added up in the database: chunks, compressed ones, rows, bytes. */
export function tsdbChunkTotals(relation: string, files?: ReadonlyMap<number, number> | null): Sql {
  return {
    text: `${tsdbChunkSet('', files ? '$2::jsonb' : undefined)}
SELECT count(*)::int AS chunks, count(*) FILTER (WHERE compressed)::int AS compressed,
       coalesce(sum(greatest(rows_estimate, 0)), 0)::bigint AS rows_estimate,
       coalesce(sum(bytes), 0)::bigint AS bytes
  FROM chunks`,
    values: files ? [relation, relationFilesParam(files)] : [relation],
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
  counters = true,
): Sql {
  const from = source === null ? POINTS : qualified(source);
  const timeCol = source === null ? 'time' : 'bucket';
  const aggregates = [
    ...(source === null
      ? ['count(*)', 'sum(value)', 'min(value)', 'max(value)', 'sum(value * value)']
      : ['sum(count)', 'sum(sum)', 'min(min)', 'max(max)', 'sum(sumsq)']),
    ...(counters ? counterColumns(source === null ? 'points' : 'rollup', timeCol) : []),
  ];
  const columns = ['count', 'sum', 'min', 'max', 'sumsq', ...(counters ? ['first', 'last', 'increase'] : [])];
  const text = `INSERT INTO ${qualified(rollup)} (bucket, series_id, ${columns.join(', ')})
SELECT ${dateBin(bucket.interval, timeCol)} AS b, series_id, ${aggregates.join(', ')}
  FROM ${from}
 WHERE ($1::timestamptz IS NULL OR ${timeCol} >= $1::timestamptz) AND ${timeCol} < $2::timestamptz
 GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE
   SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
  return { text, values: [range.from, range.until] };
}

export const watermarkKey = (rollup: string) => `watermark:${rollup}`;

export function writeWatermark(rollup: string, until: Date): Sql {
  return {
    text: `INSERT INTO ${META} (key, value) VALUES ($1, jsonb_build_object('until', $2::text))
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
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

/**
 * Bytes of each rollup named, in the order given, in one query: what hypertable_size reports for a continuous
 * aggregate's materialisation hypertable (the table itself, its chunks and their compressed chunks, each
 * pg_total_relation_size), summed from the catalog: hypertable_size stats index files twice (see tsdbChunkSet).
 * With `files`, see totalRelationSize.
 */
export function tsdbRollupSizes(rollups: string[], files?: ReadonlyMap<number, number> | null): Sql {
  const at = files ? '$3::jsonb' : undefined;
  return {
    text: `SELECT r.name, coalesce(${totalRelationSize("to_regclass(quote_ident(h.schema_name) || '.' || quote_ident(h.table_name))", at)}
         + (SELECT coalesce(sum(coalesce(${totalRelationSize('pc.oid', at)}, 0)
                 + coalesce(${totalRelationSize("to_regclass(quote_ident(comp.schema_name) || '.' || quote_ident(comp.table_name))", at)}, 0)), 0)
              FROM _timescaledb_catalog.chunk ch
              JOIN pg_namespace pn ON pn.nspname = ch.schema_name
              JOIN pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = ch.table_name AND pc.relkind = 'r'
              LEFT JOIN _timescaledb_catalog.chunk comp ON comp.id = ch.compressed_chunk_id
             WHERE ch.hypertable_id = h.id AND NOT coalesce((to_jsonb(ch) ->> 'dropped')::boolean, false)), 0)::bigint AS bytes
  FROM unnest($2::text[]) WITH ORDINALITY r(name, i)
  LEFT JOIN _timescaledb_catalog.continuous_agg a ON a.user_view_schema = $1 AND a.user_view_name = r.name
  LEFT JOIN _timescaledb_catalog.hypertable h ON h.id = a.mat_hypertable_id
 ORDER BY r.i`,
    values: files ? [SCHEMA, rollups, relationFilesParam(files)] : [SCHEMA, rollups],
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
  updated_at = EXCLUDED.updated_at`,
    values: [dirtyKey(rollup), from.toISOString()],
  };
}

export function clearDirty(rollup: string): Sql {
  return { text: `DELETE FROM ${META} WHERE key = $1`, values: [dirtyKey(rollup)] };
}

/** When a rollup's dirty mark was last set (null: none), to clear it after a refresh in pieces only if unchanged. */
export function dirtyStamp(rollup: string): Sql {
  return {
    text: `SELECT (SELECT updated_at::text FROM ${META} WHERE key = $1) AS stamp`,
    values: [dirtyKey(rollup)],
  };
}

/** Clears the dirty mark unless it was set again after `stamp` (by readings that arrived meanwhile). */
export function clearDirtyIfUnchanged(rollup: string, stamp: string): Sql {
  return {
    text: `DELETE FROM ${META} WHERE key = $1 AND updated_at::text = $2`,
    values: [dirtyKey(rollup), stamp],
  };
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
