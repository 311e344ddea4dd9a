// Every TimescaleDB statement whose spelling depends on the version is chosen here and nowhere else:
// create_hypertable(by_range) from 2.13, the columnstore API (ALTER ... enable_columnstore,
// add_columnstore_policy, convert_to_columnstore, CALL procedures) from 2.18.
import type { Duration } from '../../util/duration.js';
import type { Sql } from '../types.js';
import { SCHEMA, literal, qualified } from './ident.js';
import {
  EVENTS,
  EVENTS_COLUMNS,
  POINTS,
  POINTS_COLUMNS,
  counterColumns,
  lacksCounterColumns,
  regclassExists,
  refreshSchedule,
  rollupName,
  type SchemaStep,
} from './schema.js';

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

export function createHypertable(v: TsdbVersion, table: string, timeColumn: string, interval: string): Sql {
  if (hasByRange(v)) {
    return {
      text: `SELECT create_hypertable(${literal(table)}, by_range(${literal(timeColumn)}, INTERVAL ${literal(interval)}), create_default_indexes => false, if_not_exists => true)`,
    };
  }
  return {
    text: `SELECT create_hypertable(${literal(table)}, ${literal(timeColumn)}, chunk_time_interval => INTERVAL ${literal(interval)}, create_default_indexes => false, if_not_exists => true)`,
  };
}

export function setChunkInterval(table: string, interval: string): Sql {
  return { text: `SELECT set_chunk_time_interval(${literal(table)}, INTERVAL ${literal(interval)})` };
}

/** Compression (columnstore) settings: one segment per series, newest first inside it. */
export function enableCompression(v: TsdbVersion, table: string, segmentBy: string, orderBy: string): Sql {
  if (hasColumnstore(v)) {
    return {
      text: `ALTER TABLE ${table} SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = ${literal(segmentBy)}, timescaledb.orderby = ${literal(orderBy)})`,
    };
  }
  return {
    text: `ALTER TABLE ${table} SET (timescaledb.compress = true, timescaledb.compress_segmentby = ${literal(segmentBy)}, timescaledb.compress_orderby = ${literal(orderBy)})`,
  };
}

/** Compression of a continuous aggregate's materialisation: one segment per series, newest bucket first. */
export function enableRollupCompression(v: TsdbVersion, view: string): Sql {
  const settings = hasColumnstore(v)
    ? `timescaledb.enable_columnstore = true, timescaledb.segmentby = 'series_id', timescaledb.orderby = 'bucket DESC'`
    : `timescaledb.compress = true, timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'bucket DESC'`;
  return { text: `ALTER MATERIALIZED VIEW ${view} SET (${settings})` };
}

/** Rollups compress their chunks older than this unless init is given --compress-after. */
export const ROLLUP_COMPRESS_AFTER: Duration = { text: '7d', ms: 7 * 86_400_000, interval: '7 days' };

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

export function runJob(jobId: number): Sql {
  if (!Number.isInteger(jobId)) throw new Error(`invalid job id ${jobId}`);
  return { text: `CALL run_job(${jobId})` };
}

/** From 2.28 a manual refresh commits every 10 buckets by default (buckets_per_batch in its options). */
export const batchesManualRefresh = (v: TsdbVersion) => atLeast(v, 2, 28);
/** attach_chunk / detach_chunk (ingest's bulk ranges) from 2.21. */
export const hasAttachChunk = (v: TsdbVersion) => atLeast(v, 2, 21);

/**
 * Refresh of a continuous aggregate; must run outside a transaction block (as its own statement). One batch:
 * with 2.28's default of 10 buckets a batch, the 1-minute rollup of the four sample data sets (1.5M readings
 * over 13 years) refreshed 168 of its 1,853 days in 305 s, with one batch all of it in 31 s.
 */
export function refreshContinuousAggregate(
  view: string,
  start: Date | null,
  end: Date | null,
  v?: TsdbVersion,
): Sql {
  const bound = (d: Date | null) => (d ? `TIMESTAMPTZ ${literal(d.toISOString())}` : 'NULL');
  const options = v && batchesManualRefresh(v) ? `, options => '{"buckets_per_batch": 0}'` : '';
  return {
    text: `CALL refresh_continuous_aggregate(${literal(view)}, ${bound(start)}, ${bound(end)}${options})`,
  };
}

export function removeRefreshPolicy(view: string): Sql {
  return { text: `SELECT remove_continuous_aggregate_policy(${literal(view)}, if_exists => true)` };
}

/** time_bucket with its default origin (Monday 2000-01-03 UTC). */
export function timeBucket(interval: string, column: string): string {
  return `time_bucket(INTERVAL ${literal(interval)}, ${column})`;
}

export const createExtension: Sql = { text: 'CREATE EXTENSION IF NOT EXISTS timescaledb' };

const jobExists = (proc: string, table: string): Sql => ({
  text: `SELECT EXISTS (SELECT 1 FROM timescaledb_information.jobs
          WHERE proc_name = $1 AND hypertable_schema = $2 AND hypertable_name = $3) AS exists`,
  values: [proc, SCHEMA, table],
});

/** `table` (iotctl.`name`, with `columns`) as a hypertable of `chunkInterval` chunks. */
function tableHypertableSteps(
  v: TsdbVersion,
  table: string,
  name: string,
  columns: string,
  chunkInterval: Duration,
): SchemaStep[] {
  return [
    {
      object: `table ${table}`,
      exists: regclassExists(table),
      statements: [{ text: `CREATE TABLE IF NOT EXISTS ${table} ${columns}` }],
    },
    {
      object: `hypertable ${table} (chunks of ${chunkInterval.text})`,
      exists: {
        text: `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                  WHERE hypertable_schema = $1 AND hypertable_name = '${name}') AS exists`,
        values: [SCHEMA],
      },
      statements: [createHypertable(v, table, 'time', chunkInterval.interval)],
    },
  ];
}

/** points as a hypertable of `chunkInterval` chunks. */
export function hypertableSteps(v: TsdbVersion, chunkInterval: Duration): SchemaStep[] {
  return tableHypertableSteps(v, POINTS, 'points', POINTS_COLUMNS, chunkInterval);
}

/** The events as a hypertable of the readings' chunk interval, compressed like them (one segment per series). */
export function eventHypertableSteps(v: TsdbVersion, chunkInterval: Duration): SchemaStep[] {
  return tableHypertableSteps(v, EVENTS, 'events', EVENTS_COLUMNS, chunkInterval);
}

export function eventCompressionStep(v: TsdbVersion): SchemaStep {
  return {
    object: `compression on ${EVENTS} (segment by series_id, order by time DESC)`,
    exists: {
      text: `SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.hypertables
                 WHERE hypertable_schema = $1 AND hypertable_name = 'events'), false) AS exists`,
      values: [SCHEMA],
    },
    statements: [enableCompression(v, EVENTS, 'series_id', 'time DESC')],
  };
}

/** Compression settings on points: one segment per series, newest first inside it. */
export function compressionStep(v: TsdbVersion): SchemaStep {
  return {
    object: `compression on ${POINTS} (segment by series_id, order by time DESC)`,
    exists: {
      text: `SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.hypertables
                 WHERE hypertable_schema = $1 AND hypertable_name = 'points'), false) AS exists`,
      values: [SCHEMA],
    },
    statements: [enableCompression(v, POINTS, 'series_id', 'time DESC')],
  };
}

/**
 * Rollups, finest first, each a continuous aggregate on the one before it (hierarchical), with the columns that
 * recombine exactly: count, sum, min, max and the sum of squares (for stddev). WITH NO DATA (refresh cannot run
 * in a transaction), real-time (materialized_only = false) so the not-yet-materialised tail is read live, a
 * refresh policy each, and compressed like the readings (a refresh over compressed buckets still works: both
 * 2.23 and 2.28 accept a compression policy whatever the refresh window's start, and rewrite compressed rows).
 */
export function continuousAggregateSteps(
  v: TsdbVersion,
  rollups: Duration[],
  compressAfter: Duration = ROLLUP_COMPRESS_AFTER,
  counters = true,
): SchemaStep[] {
  const steps: SchemaStep[] = [];
  let source: string | null = null;
  for (const bucket of [...rollups].sort((a, b) => a.ms - b.ms)) {
    const name = qualified(rollupName(bucket));
    const counter = (from: 'points' | 'rollup', time: string) =>
      counters
        ? `,\n       ${counterColumns(from, time)
            .map((c, i) => `${c} AS ${['first', 'last', 'increase'][i]}`)
            .join(', ')}`
        : '';
    const select: string =
      source === null
        ? `SELECT ${timeBucket(bucket.interval, 'time')} AS bucket, series_id,
       count(*)::bigint AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
       sum(value * value) AS sumsq${counter('points', 'time')}
FROM ${POINTS}
GROUP BY 1, 2`
        : `SELECT ${timeBucket(bucket.interval, 'bucket')} AS bucket, series_id,
       sum(count)::bigint AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
       sum(sumsq) AS sumsq${counter('rollup', 'bucket')}
FROM ${source}
GROUP BY 1, 2`;
    steps.push(
      {
        object: `rollup ${name} (continuous aggregate${source ? ` on ${source}` : ''})`,
        exists: regclassExists(name),
        statements: [
          {
            text: `CREATE MATERIALIZED VIEW IF NOT EXISTS ${name}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
${select}
WITH NO DATA`,
          },
        ],
      },
      {
        object: `refresh policy on ${name} (every ${refreshSchedule(bucket).text})`,
        exists: jobExists('policy_refresh_continuous_aggregate', rollupName(bucket)),
        statements: [addRefreshPolicy(name, bucket.interval, refreshSchedule(bucket).interval, v)],
      },
      {
        object: `compression on ${name} (segment by series_id, order by bucket DESC)`,
        exists: {
          text: `SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.continuous_aggregates
                     WHERE view_schema = $1 AND view_name = $2), false) AS exists`,
          values: [SCHEMA, rollupName(bucket)],
        },
        statements: [enableRollupCompression(v, name)],
      },
      {
        object: `compression policy on ${name} (after ${compressAfter.text})`,
        exists: jobExists('policy_compression', rollupName(bucket)),
        statements: [addCompressionPolicy(v, name, compressAfter.interval)],
      },
    );
    source = name;
  }
  return steps;
}

/**
 * Upgrading a schema 1 store: a continuous aggregate cannot gain columns, so each rollup without the counter
 * columns is dropped (with the rollups built on it and their policies) and the steps that follow create it
 * again, empty: real-time aggregation reads the readings until a refresh has filled it.
 */
export function caggCounterUpgradeSteps(rollups: Duration[]): SchemaStep[] {
  return [...rollups]
    .sort((a, b) => a.ms - b.ms)
    .map((bucket) => {
      const name = qualified(rollupName(bucket));
      return {
        object: `counter columns on ${name} (rebuilt with the rollups built on it; filled by the next refresh)`,
        exists: lacksCounterColumns(name),
        statements: [{ text: `DROP MATERIALIZED VIEW IF EXISTS ${name} CASCADE` }],
      };
    });
}

/** The iotctl policy jobs with their stats and latest error. */
export const tsdbJobs: Sql = {
  text: `SELECT j.job_id, j.proc_name,
            j.hypertable_name AS target,
            j.schedule_interval::text AS schedule,
            extract(epoch FROM j.schedule_interval)::float8 AS schedule_seconds,
            coalesce(j.config->>'compress_after', j.config->>'drop_after', j.config->>'end_offset') AS after,
            extract(epoch FROM coalesce(j.config->>'compress_after', j.config->>'drop_after',
              j.config->>'end_offset')::interval)::float8 AS after_seconds,
            s.last_run_started_at, s.last_successful_finish, s.last_run_status,
            s.total_runs::int AS total_runs, s.total_failures::int AS total_failures, s.next_start,
            (SELECT e.err_message FROM timescaledb_information.job_errors e
              WHERE e.job_id = j.job_id ORDER BY e.start_time DESC LIMIT 1) AS last_error
       FROM timescaledb_information.jobs j
       LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
      WHERE j.proc_name LIKE 'policy_%' AND j.hypertable_schema = $1
      ORDER BY j.job_id`,
  values: [SCHEMA],
};

/** Retention cutoff of points and of each rollup with a retention job, by the database's clock. */
export const tsdbRetentionCutoffs: Sql = {
  text: `SELECT hypertable_name AS target, now() - (config->>'drop_after')::interval AS cutoff,
       config->>'drop_after' AS after
  FROM timescaledb_information.jobs
 WHERE proc_name = 'policy_retention' AND hypertable_schema = ${literal(SCHEMA)}`,
};

export interface SchedulerRow {
  database: string;
  schedulers: number;
  max_workers: string | null;
  job_execution: string | null;
  databases: number;
}

/**
 * Whether a TimescaleDB scheduler (a background worker per database) runs for this database, with what
 * explains it when none does. The database count is of those this role can see.
 */
export const schedulerState: Sql = {
  text: `SELECT current_database() AS database,
       (SELECT count(*)::int FROM pg_stat_activity
         WHERE datname = current_database()
           -- backend_type is hidden from roles without pg_read_all_stats; application_name is not
           AND 'TimescaleDB Background Worker Scheduler' IN (backend_type, application_name)) AS schedulers,
       current_setting('timescaledb.max_background_workers', true) AS max_workers,
       current_setting('timescaledb.enable_job_execution', true) AS job_execution,
       (SELECT count(*)::int FROM pg_database WHERE datallowconn AND NOT datistemplate) AS databases`,
};

/** The materialization hypertable of one of iotctl's continuous aggregates (where its rows are stored). */
export function materializationTable(rollup: string): Sql {
  return {
    text: `SELECT format('%I.%I', h.schema_name, h.table_name) AS rel
  FROM _timescaledb_catalog.continuous_agg ca
  JOIN _timescaledb_catalog.hypertable h ON h.id = ca.mat_hypertable_id
 WHERE ca.user_view_schema = ${literal(SCHEMA)} AND ca.user_view_name = $1`,
    values: [rollup],
  };
}

/**
 * Where a hypertable or continuous aggregate (its materialization hypertable) holds rows: the time range of
 * each of its chunks, oldest first, from the catalog (no chunk is sized or read).
 */
export function chunkTimeRanges(relation: string): Sql {
  return {
    text: `SELECT DISTINCT (greatest(ds.range_start, -62135596800000000) / 1000)::float8 AS lo,
       (least(ds.range_end, 253402300799000000) / 1000)::float8 AS hi
  FROM show_chunks($1::regclass) AS s(oid)
  JOIN pg_class pc ON pc.oid = s.oid
  JOIN pg_namespace pn ON pn.oid = pc.relnamespace
  JOIN _timescaledb_catalog.chunk ch ON ch.schema_name = pn.nspname AND ch.table_name = pc.relname
  JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = ch.id
  JOIN _timescaledb_catalog.dimension_slice ds ON ds.id = cc.dimension_slice_id
 ORDER BY 1`,
    values: [relation],
  };
}

/** The watermark of a continuous aggregate (epoch ms): materialised up to here, real-time above it. */
export function caggWatermark(rollup: string): Sql {
  return {
    text: `SELECT (_timescaledb_functions.cagg_watermark(mat_hypertable_id) / 1000)::float8 AS ms
  FROM _timescaledb_catalog.continuous_agg
 WHERE user_view_schema = ${literal(SCHEMA)} AND user_view_name = $1`,
    values: [rollup],
  };
}
