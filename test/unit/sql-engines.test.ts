// Every statement the two storage engines build, pinned by exact text (and values), so a change to the SQL
// shows up here even where CI has no server of that kind.
import { describe, expect, it } from 'vitest';
import {
  clearDirty,
  clearDirtyIfUnchanged,
  cutoffAgo,
  dirtyStamp,
  dbNow,
  deletePlainPolicy,
  deletePlainRollupExpired,
  dropPartition,
  ledgerFinish,
  ledgerMarkInterrupted,
  ledgerPrune,
  ledgerStart,
  lockRollupsExclusive,
  markDirty,
  plainPolicyExists,
  plainRollupExpired,
  plainRollupSizes,
  plainSourceStart,
  readCompleteUntil,
  readRollupState,
  refreshPlainRollup,
  sameInterval,
  tsdbRefreshPolicies,
  tsdbRetentionAges,
  tsdbRollupSizes,
  upsertPlainPolicy,
  writeWatermark,
} from '../../src/db/sql/maintenance.js';
import { partitionsSql } from '../../src/db/sql/partitions.js';
import { capabilityProbe } from '../../src/db/sql/probe.js';
import {
  dateBin,
  partitionedPointsStep,
  plainPolicies,
  plainRetentionCutoffs,
  rollupTableSteps,
  stalenessSteps,
} from '../../src/db/sql/plain.js';
import {
  baseSteps,
  commonSteps,
  countSeries,
  metaExists,
  readConfig,
  upsertConfig,
} from '../../src/db/sql/schema.js';
import {
  caggWatermark,
  chunkTimeRanges,
  compressionStep,
  continuousAggregateSteps,
  createExtension,
  hypertableSteps,
  parseTsdbVersion,
  refreshContinuousAggregate,
  schedulerState,
  setChunkInterval,
  timeBucket,
  tsdbJobs,
  tsdbRetentionCutoffs,
} from '../../src/db/sql/timescale.js';
import { parseDuration } from '../../src/util/duration.js';

const d = (iso: string) => new Date(iso);
const v223 = parseTsdbVersion('2.23.0');
const rollups = [parseDuration('1m'), parseDuration('1h')];

describe('common schema SQL', () => {
  it('creates the schema, meta and series tables, then the index, view, ledger and policies', () => {
    expect(baseSteps()).toMatchInlineSnapshot(`
      [
        {
          "exists": {
            "text": "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists",
            "values": [
              "iotctl",
            ],
          },
          "object": "schema iotctl",
          "statements": [
            {
              "text": "CREATE SCHEMA IF NOT EXISTS iotctl",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.meta",
            ],
          },
          "object": "table iotctl.meta",
          "statements": [
            {
              "text": "CREATE TABLE IF NOT EXISTS iotctl.meta (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.series",
            ],
          },
          "object": "table iotctl.series",
          "statements": [
            {
              "text": "CREATE TABLE IF NOT EXISTS iotctl.series (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        device_id text NOT NULL,
        metric text NOT NULL,
        unit text,
        tags jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (device_id, metric)
      )",
            },
          ],
        },
      ]
    `);
    expect(commonSteps()).toMatchInlineSnapshot(`
      [
        {
          "exists": {
            "text": "SELECT to_regprocedure($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.counter_step(float8[], float8, float8, float8)",
            ],
          },
          "object": "function iotctl.counter_step",
          "statements": [
            {
              "text": "CREATE OR REPLACE FUNCTION iotctl.counter_step(state float8[], f float8, l float8, i float8) RETURNS float8[]
      LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      BEGIN
        IF state IS NULL THEN
          RETURN ARRAY[f, l, i];
        END IF;
        state[3] := state[3] + i + CASE WHEN f < state[2] THEN f ELSE f - state[2] END;
        state[2] := l;
        RETURN state;
      END
      $$",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regprocedure($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.counter_agg(float8, float8, float8)",
            ],
          },
          "object": "aggregate iotctl.counter_agg",
          "statements": [
            {
              "text": "CREATE AGGREGATE iotctl.counter_agg(float8, float8, float8) (SFUNC = iotctl.counter_step, STYPE = float8[])",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.points_series_time_uq",
            ],
          },
          "object": "index iotctl.points_series_time_uq (series_id, time DESC)",
          "statements": [
            {
              "text": "CREATE UNIQUE INDEX IF NOT EXISTS points_series_time_uq ON iotctl.points (series_id, time DESC)",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.readings",
            ],
          },
          "object": "view iotctl.readings",
          "statements": [
            {
              "text": "CREATE OR REPLACE VIEW iotctl.readings AS
      SELECT p.time, s.device_id, s.metric, p.value, s.unit, s.tags
      FROM iotctl.points p JOIN iotctl.series s ON s.id = p.series_id",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.job_runs",
            ],
          },
          "object": "table iotctl.job_runs",
          "statements": [
            {
              "text": "CREATE TABLE IF NOT EXISTS iotctl.job_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job text NOT NULL,
        job_id integer,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        status text NOT NULL CHECK (status IN ('running', 'success', 'failed')),
        error text,
        details jsonb
      )",
            },
            {
              "text": "CREATE INDEX IF NOT EXISTS job_runs_job_started_idx ON iotctl.job_runs (job, started_at DESC)",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.policies",
            ],
          },
          "object": "table iotctl.policies",
          "statements": [
            {
              "text": "CREATE TABLE IF NOT EXISTS iotctl.policies (
        kind text NOT NULL,
        target text NOT NULL,
        after interval NOT NULL,
        schedule interval NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, target)
      )",
            },
          ],
        },
      ]
    `);
  });

  it('stores and reads the configuration', () => {
    expect(upsertConfig({ mode: 'plain' })).toMatchInlineSnapshot(`
      {
        "text": "INSERT INTO iotctl.meta (key, value) VALUES ('config', $1::jsonb)
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        "values": [
          "{"mode":"plain"}",
        ],
      }
    `);
    expect(metaExists).toMatchInlineSnapshot(`
      {
        "text": "SELECT to_regclass($1) IS NOT NULL AS ok",
        "values": [
          "iotctl.meta",
        ],
      }
    `);
    expect(readConfig).toMatchInlineSnapshot(`
      {
        "text": "SELECT value FROM iotctl.meta WHERE key = 'config'",
      }
    `);
    expect(countSeries).toMatchInlineSnapshot(`
      {
        "text": "SELECT count(*)::int AS n FROM iotctl.series",
      }
    `);
  });
});

describe('TimescaleDB engine SQL', () => {
  it('buckets with time_bucket and creates the extension', () => {
    expect(timeBucket('1 hours', 'r.time')).toMatchInlineSnapshot(
      `"time_bucket(INTERVAL '1 hours', r.time)"`,
    );
    expect(createExtension).toMatchInlineSnapshot(`
      {
        "text": "CREATE EXTENSION IF NOT EXISTS timescaledb",
      }
    `);
    expect(setChunkInterval('iotctl.points', '6 hours')).toMatchInlineSnapshot(`
      {
        "text": "SELECT set_chunk_time_interval('iotctl.points', INTERVAL '6 hours')",
      }
    `);
  });

  it('makes points a hypertable with compression by series', () => {
    expect(hypertableSteps(v223, parseDuration('1d'))).toMatchInlineSnapshot(`
      [
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.points",
            ],
          },
          "object": "table iotctl.points",
          "statements": [
            {
              "text": "CREATE TABLE IF NOT EXISTS iotctl.points (time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL)",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                        WHERE hypertable_schema = $1 AND hypertable_name = 'points') AS exists",
            "values": [
              "iotctl",
            ],
          },
          "object": "hypertable iotctl.points (chunks of 1d)",
          "statements": [
            {
              "text": "SELECT create_hypertable('iotctl.points', by_range('time', INTERVAL '1 days'), create_default_indexes => false, if_not_exists => true)",
            },
          ],
        },
      ]
    `);
    expect(compressionStep(v223)).toMatchInlineSnapshot(`
      {
        "exists": {
          "text": "SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.hypertables
                       WHERE hypertable_schema = $1 AND hypertable_name = 'points'), false) AS exists",
          "values": [
            "iotctl",
          ],
        },
        "object": "compression on iotctl.points (segment by series_id, order by time DESC)",
        "statements": [
          {
            "text": "ALTER TABLE iotctl.points SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = 'series_id', timescaledb.orderby = 'time DESC')",
          },
        ],
      }
    `);
  });

  it('builds hierarchical continuous aggregates, each with a refresh policy, compression and a compression policy', () => {
    expect(continuousAggregateSteps(v223, rollups)).toMatchInlineSnapshot(`
      [
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.rollup_1m",
            ],
          },
          "object": "rollup iotctl.rollup_1m (continuous aggregate)",
          "statements": [
            {
              "text": "CREATE MATERIALIZED VIEW IF NOT EXISTS iotctl.rollup_1m
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT time_bucket(INTERVAL '1 minutes', time) AS bucket, series_id,
             count(*)::bigint AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
             sum(value * value) AS sumsq,
             (iotctl.counter_agg(value, value, 0 ORDER BY time))[1] AS first, (iotctl.counter_agg(value, value, 0 ORDER BY time))[2] AS last, (iotctl.counter_agg(value, value, 0 ORDER BY time))[3] AS increase
      FROM iotctl.points
      GROUP BY 1, 2
      WITH NO DATA",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT EXISTS (SELECT 1 FROM timescaledb_information.jobs
                WHERE proc_name = $1 AND hypertable_schema = $2 AND hypertable_name = $3) AS exists",
            "values": [
              "policy_refresh_continuous_aggregate",
              "iotctl",
              "rollup_1m",
            ],
          },
          "object": "refresh policy on iotctl.rollup_1m (every 5m)",
          "statements": [
            {
              "text": "SELECT add_continuous_aggregate_policy('iotctl.rollup_1m', start_offset => NULL, end_offset => INTERVAL '1 minutes', schedule_interval => INTERVAL '5 minutes', if_not_exists => true, buckets_per_batch => 0)",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.continuous_aggregates
                           WHERE view_schema = $1 AND view_name = $2), false) AS exists",
            "values": [
              "iotctl",
              "rollup_1m",
            ],
          },
          "object": "compression on iotctl.rollup_1m (segment by series_id, order by bucket DESC)",
          "statements": [
            {
              "text": "ALTER MATERIALIZED VIEW iotctl.rollup_1m SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = 'series_id', timescaledb.orderby = 'bucket DESC')",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT EXISTS (SELECT 1 FROM timescaledb_information.jobs
                WHERE proc_name = $1 AND hypertable_schema = $2 AND hypertable_name = $3) AS exists",
            "values": [
              "policy_compression",
              "iotctl",
              "rollup_1m",
            ],
          },
          "object": "compression policy on iotctl.rollup_1m (after 7d)",
          "statements": [
            {
              "text": "CALL add_columnstore_policy('iotctl.rollup_1m', after => INTERVAL '7 days', if_not_exists => true)",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.rollup_1h",
            ],
          },
          "object": "rollup iotctl.rollup_1h (continuous aggregate on iotctl.rollup_1m)",
          "statements": [
            {
              "text": "CREATE MATERIALIZED VIEW IF NOT EXISTS iotctl.rollup_1h
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT time_bucket(INTERVAL '1 hours', bucket) AS bucket, series_id,
             sum(count)::bigint AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
             sum(sumsq) AS sumsq,
             (iotctl.counter_agg(first, last, increase ORDER BY bucket))[1] AS first, (iotctl.counter_agg(first, last, increase ORDER BY bucket))[2] AS last, (iotctl.counter_agg(first, last, increase ORDER BY bucket))[3] AS increase
      FROM iotctl.rollup_1m
      GROUP BY 1, 2
      WITH NO DATA",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT EXISTS (SELECT 1 FROM timescaledb_information.jobs
                WHERE proc_name = $1 AND hypertable_schema = $2 AND hypertable_name = $3) AS exists",
            "values": [
              "policy_refresh_continuous_aggregate",
              "iotctl",
              "rollup_1h",
            ],
          },
          "object": "refresh policy on iotctl.rollup_1h (every 1h)",
          "statements": [
            {
              "text": "SELECT add_continuous_aggregate_policy('iotctl.rollup_1h', start_offset => NULL, end_offset => INTERVAL '1 hours', schedule_interval => INTERVAL '1 hours', if_not_exists => true, buckets_per_batch => 0)",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.continuous_aggregates
                           WHERE view_schema = $1 AND view_name = $2), false) AS exists",
            "values": [
              "iotctl",
              "rollup_1h",
            ],
          },
          "object": "compression on iotctl.rollup_1h (segment by series_id, order by bucket DESC)",
          "statements": [
            {
              "text": "ALTER MATERIALIZED VIEW iotctl.rollup_1h SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = 'series_id', timescaledb.orderby = 'bucket DESC')",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT EXISTS (SELECT 1 FROM timescaledb_information.jobs
                WHERE proc_name = $1 AND hypertable_schema = $2 AND hypertable_name = $3) AS exists",
            "values": [
              "policy_compression",
              "iotctl",
              "rollup_1h",
            ],
          },
          "object": "compression policy on iotctl.rollup_1h (after 7d)",
          "statements": [
            {
              "text": "CALL add_columnstore_policy('iotctl.rollup_1h', after => INTERVAL '7 days', if_not_exists => true)",
            },
          ],
        },
      ]
    `);
  });

  it('lists jobs, retention cutoffs and ages, refresh policies and rollup sizes', () => {
    expect(tsdbJobs).toMatchInlineSnapshot(`
      {
        "text": "SELECT j.job_id, j.proc_name,
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
            ORDER BY j.job_id",
        "values": [
          "iotctl",
        ],
      }
    `);
    expect(tsdbRetentionCutoffs).toMatchInlineSnapshot(`
      {
        "text": "SELECT hypertable_name AS target, now() - (config->>'drop_after')::interval AS cutoff,
             config->>'drop_after' AS after
        FROM timescaledb_information.jobs
       WHERE proc_name = 'policy_retention' AND hypertable_schema = 'iotctl'",
      }
    `);
    expect(tsdbRetentionAges()).toMatchInlineSnapshot(`
      {
        "text": "SELECT hypertable_name AS target,
             (extract(epoch FROM (config->>'drop_after')::interval) * 1000)::float8 AS ms
        FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_schema = $1",
        "values": [
          "iotctl",
        ],
      }
    `);
    expect(tsdbRefreshPolicies()).toMatchInlineSnapshot(`
      {
        "text": "SELECT hypertable_name AS rollup, schedule_interval::text AS schedule,
             (extract(epoch FROM (config->>'start_offset')::interval) * 1000)::float8 AS start_ms
        FROM timescaledb_information.jobs
       WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = $1",
        "values": [
          "iotctl",
        ],
      }
    `);
    expect(tsdbRollupSizes(['rollup_1m', 'rollup_1h'])).toMatchInlineSnapshot(`
      {
        "text": "SELECT r.name, coalesce(pg_total_relation_size(to_regclass(quote_ident(h.schema_name) || '.' || quote_ident(h.table_name)))
               + (SELECT coalesce(sum(coalesce(pg_total_relation_size(pc.oid), 0)
                       + coalesce(pg_total_relation_size(to_regclass(quote_ident(comp.schema_name) || '.' || quote_ident(comp.table_name))), 0)), 0)
                    FROM _timescaledb_catalog.chunk ch
                    JOIN pg_namespace pn ON pn.nspname = ch.schema_name
                    JOIN pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = ch.table_name AND pc.relkind = 'r'
                    LEFT JOIN _timescaledb_catalog.chunk comp ON comp.id = ch.compressed_chunk_id
                   WHERE ch.hypertable_id = h.id AND NOT coalesce((to_jsonb(ch) ->> 'dropped')::boolean, false)), 0)::bigint AS bytes
        FROM unnest($2::text[]) WITH ORDINALITY r(name, i)
        LEFT JOIN _timescaledb_catalog.continuous_agg a ON a.user_view_schema = $1 AND a.user_view_name = r.name
        LEFT JOIN _timescaledb_catalog.hypertable h ON h.id = a.mat_hypertable_id
       ORDER BY r.i",
        "values": [
          "iotctl",
          [
            "rollup_1m",
            "rollup_1h",
          ],
        ],
      }
    `);
  });
});

describe('plain PostgreSQL engine SQL', () => {
  it('buckets with date_bin at time_bucket’s origin; points partitioned by range', () => {
    expect(dateBin('5 minutes', 'time')).toMatchInlineSnapshot(
      `"date_bin(INTERVAL '5 minutes', time, TIMESTAMPTZ '2000-01-03 00:00:00+00')"`,
    );
    expect(partitionedPointsStep(parseDuration('1d'))).toMatchInlineSnapshot(`
      {
        "exists": {
          "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
          "values": [
            "iotctl.points",
          ],
        },
        "object": "table iotctl.points (partitioned by time, 1d partitions)",
        "statements": [
          {
            "text": "CREATE TABLE IF NOT EXISTS iotctl.points (time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL) PARTITION BY RANGE (time)",
          },
        ],
      }
    `);
    expect(partitionsSql(d('2026-01-01T00:00:00Z'))).toMatchInlineSnapshot(`
      {
        "text": "SELECT * FROM (
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
         WHERE n.nspname = 'iotctl' AND p.relname = 'points'
      ) parts WHERE range_end <= $1::timestamptz
       ORDER BY range_start",
        "values": [
          2026-01-01T00:00:00.000Z,
        ],
      }
    `);
    expect(dropPartition('iotctl.points_p20260101_0000')).toMatchInlineSnapshot(`
      {
        "text": "DROP TABLE IF EXISTS iotctl.points_p20260101_0000",
      }
    `);
    expect(() => dropPartition('public.points')).toThrow(/not an iotctl partition/);
  });

  it('keeps rollups as tables with a staleness trigger on the finest', () => {
    expect(rollupTableSteps(rollups)).toMatchInlineSnapshot(`
      [
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.rollup_1m",
            ],
          },
          "object": "rollup iotctl.rollup_1m (table refreshed by iotctl)",
          "statements": [
            {
              "text": "CREATE TABLE IF NOT EXISTS iotctl.rollup_1m (
        bucket timestamptz NOT NULL,
        series_id integer NOT NULL,
        count bigint NOT NULL,
        sum double precision NOT NULL,
        min double precision NOT NULL,
        max double precision NOT NULL,
        sumsq double precision NOT NULL,
        first double precision,
        last double precision,
        increase double precision,
        PRIMARY KEY (series_id, bucket)
      )",
            },
            {
              "text": "CREATE INDEX IF NOT EXISTS rollup_1m_bucket_idx ON iotctl.rollup_1m (bucket)",
            },
          ],
        },
        {
          "exists": {
            "text": "SELECT to_regclass($1) IS NOT NULL AS exists",
            "values": [
              "iotctl.rollup_1h",
            ],
          },
          "object": "rollup iotctl.rollup_1h (table refreshed by iotctl)",
          "statements": [
            {
              "text": "CREATE TABLE IF NOT EXISTS iotctl.rollup_1h (
        bucket timestamptz NOT NULL,
        series_id integer NOT NULL,
        count bigint NOT NULL,
        sum double precision NOT NULL,
        min double precision NOT NULL,
        max double precision NOT NULL,
        sumsq double precision NOT NULL,
        first double precision,
        last double precision,
        increase double precision,
        PRIMARY KEY (series_id, bucket)
      )",
            },
            {
              "text": "CREATE INDEX IF NOT EXISTS rollup_1h_bucket_idx ON iotctl.rollup_1h (bucket)",
            },
          ],
        },
      ]
    `);
    expect(stalenessSteps(rollups)).toMatchInlineSnapshot(`
      [
        {
          "exists": {
            "text": "SELECT coalesce((SELECT prosrc = $1 FROM pg_proc WHERE oid = to_regprocedure($2)), false)
         AND (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($3) AND tgname LIKE 'points_mark_dirty_%') = 3 AS exists",
            "values": [
              "
      DECLARE
        changed timestamptz;
        complete timestamptz;
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(7597419066901163381);
        SELECT (value->>'until')::timestamptz INTO complete FROM iotctl.meta WHERE key = 'watermark:rollup_1m';
        IF complete IS NULL THEN
          RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
          SELECT min(time) INTO changed FROM new_rows;
        ELSIF TG_OP = 'DELETE' THEN
          SELECT min(time) INTO changed FROM old_rows;
        ELSE
          SELECT least((SELECT min(time) FROM new_rows), (SELECT min(time) FROM old_rows)) INTO changed;
        END IF;
        IF changed < complete THEN
          INSERT INTO iotctl.meta (key, value) VALUES ('dirty:rollup_1m', jsonb_build_object('from', changed))
          ON CONFLICT (key) DO UPDATE
            SET value = jsonb_build_object('from', least((iotctl.meta.value->>'from')::timestamptz, changed)), updated_at = now();
        END IF;
        RETURN NULL;
      END
      ",
              "iotctl.mark_rollup_dirty()",
              "iotctl.points",
            ],
          },
          "object": "staleness trigger on iotctl.points (marks iotctl.rollup_1m dirty for late readings)",
          "statements": [
            {
              "text": "CREATE OR REPLACE FUNCTION iotctl.mark_rollup_dirty() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        changed timestamptz;
        complete timestamptz;
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(7597419066901163381);
        SELECT (value->>'until')::timestamptz INTO complete FROM iotctl.meta WHERE key = 'watermark:rollup_1m';
        IF complete IS NULL THEN
          RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
          SELECT min(time) INTO changed FROM new_rows;
        ELSIF TG_OP = 'DELETE' THEN
          SELECT min(time) INTO changed FROM old_rows;
        ELSE
          SELECT least((SELECT min(time) FROM new_rows), (SELECT min(time) FROM old_rows)) INTO changed;
        END IF;
        IF changed < complete THEN
          INSERT INTO iotctl.meta (key, value) VALUES ('dirty:rollup_1m', jsonb_build_object('from', changed))
          ON CONFLICT (key) DO UPDATE
            SET value = jsonb_build_object('from', least((iotctl.meta.value->>'from')::timestamptz, changed)), updated_at = now();
        END IF;
        RETURN NULL;
      END
      $fn$",
            },
            {
              "text": "DROP TRIGGER IF EXISTS points_mark_dirty_insert ON iotctl.points",
            },
            {
              "text": "CREATE TRIGGER points_mark_dirty_insert AFTER INSERT ON iotctl.points REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION iotctl.mark_rollup_dirty()",
            },
            {
              "text": "DROP TRIGGER IF EXISTS points_mark_dirty_update ON iotctl.points",
            },
            {
              "text": "CREATE TRIGGER points_mark_dirty_update AFTER UPDATE ON iotctl.points REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION iotctl.mark_rollup_dirty()",
            },
            {
              "text": "DROP TRIGGER IF EXISTS points_mark_dirty_delete ON iotctl.points",
            },
            {
              "text": "CREATE TRIGGER points_mark_dirty_delete AFTER DELETE ON iotctl.points REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION iotctl.mark_rollup_dirty()",
            },
          ],
        },
      ]
    `);
    expect(stalenessSteps([])).toEqual([]);
  });

  it('refreshes a rollup from points or from the finer rollup', () => {
    const range = { from: d('2026-01-01T00:00:00Z'), until: d('2026-01-02T00:00:00Z') };
    expect(refreshPlainRollup('rollup_1m', parseDuration('1m'), null, range)).toMatchInlineSnapshot(`
      {
        "text": "INSERT INTO iotctl.rollup_1m (bucket, series_id, count, sum, min, max, sumsq, first, last, increase)
      SELECT date_bin(INTERVAL '1 minutes', time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS b, series_id, count(*), sum(value), min(value), max(value), sum(value * value), (iotctl.counter_agg(value, value, 0 ORDER BY time))[1], (iotctl.counter_agg(value, value, 0 ORDER BY time))[2], (iotctl.counter_agg(value, value, 0 ORDER BY time))[3]
        FROM iotctl.points
       WHERE ($1::timestamptz IS NULL OR time >= $1::timestamptz) AND time < $2::timestamptz
       GROUP BY 1, 2
      ON CONFLICT (series_id, bucket) DO UPDATE
         SET count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, sumsq = EXCLUDED.sumsq, first = EXCLUDED.first, last = EXCLUDED.last, increase = EXCLUDED.increase",
        "values": [
          2026-01-01T00:00:00.000Z,
          2026-01-02T00:00:00.000Z,
        ],
      }
    `);
    expect(
      refreshPlainRollup('rollup_1h', parseDuration('1h'), 'rollup_1m', { from: null, until: range.until }),
    ).toMatchInlineSnapshot(`
      {
        "text": "INSERT INTO iotctl.rollup_1h (bucket, series_id, count, sum, min, max, sumsq, first, last, increase)
      SELECT date_bin(INTERVAL '1 hours', bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS b, series_id, sum(count), sum(sum), min(min), max(max), sum(sumsq), (iotctl.counter_agg(first, last, increase ORDER BY bucket))[1], (iotctl.counter_agg(first, last, increase ORDER BY bucket))[2], (iotctl.counter_agg(first, last, increase ORDER BY bucket))[3]
        FROM iotctl.rollup_1m
       WHERE ($1::timestamptz IS NULL OR bucket >= $1::timestamptz) AND bucket < $2::timestamptz
       GROUP BY 1, 2
      ON CONFLICT (series_id, bucket) DO UPDATE
         SET count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, sumsq = EXCLUDED.sumsq, first = EXCLUDED.first, last = EXCLUDED.last, increase = EXCLUDED.increase",
        "values": [
          null,
          2026-01-02T00:00:00.000Z,
        ],
      }
    `);
    expect(lockRollupsExclusive()).toMatchInlineSnapshot(`
      {
        "text": "SELECT pg_advisory_xact_lock($1::bigint), now() AS now",
        "values": [
          "7597419066901163381",
        ],
      }
    `);
    expect(readRollupState('rollup_1h', 'rollup_1m')).toMatchInlineSnapshot(`
      {
        "text": "SELECT (SELECT (value->>'until')::timestamptz FROM iotctl.meta WHERE key = $1) AS until,
             (SELECT (value->>'from')::timestamptz FROM iotctl.meta WHERE key = $2) AS dirty_from,
             (SELECT (value->>'until')::timestamptz FROM iotctl.meta WHERE key = $3) AS source_until",
        "values": [
          "watermark:rollup_1h",
          "dirty:rollup_1h",
          "watermark:rollup_1m",
        ],
      }
    `);
    expect(plainSourceStart(null)).toMatchInlineSnapshot(`
      {
        "text": "SELECT min((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz) AS start
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = to_regclass('iotctl.points')",
      }
    `);
    expect(plainSourceStart('rollup_1m')).toMatchInlineSnapshot(`
      {
        "text": "SELECT min(bucket) AS start FROM iotctl.rollup_1m",
      }
    `);
    expect(writeWatermark('rollup_1m', range.until)).toMatchInlineSnapshot(`
      {
        "text": "INSERT INTO iotctl.meta (key, value) VALUES ($1, jsonb_build_object('until', $2::text))
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        "values": [
          "watermark:rollup_1m",
          "2026-01-02T00:00:00.000Z",
        ],
      }
    `);
    expect(markDirty('rollup_1h', range.from)).toMatchInlineSnapshot(`
      {
        "text": "INSERT INTO iotctl.meta (key, value) VALUES ($1, jsonb_build_object('from', $2::text))
      ON CONFLICT (key) DO UPDATE SET value = jsonb_build_object('from',
        CASE WHEN (iotctl.meta.value->>'from')::timestamptz <= $2::timestamptz THEN iotctl.meta.value->>'from' ELSE $2::text END),
        updated_at = EXCLUDED.updated_at",
        "values": [
          "dirty:rollup_1h",
          "2026-01-01T00:00:00.000Z",
        ],
      }
    `);
    expect(dirtyStamp('rollup_1h')).toMatchInlineSnapshot(`
      {
        "text": "SELECT (SELECT updated_at::text FROM iotctl.meta WHERE key = $1) AS stamp",
        "values": [
          "dirty:rollup_1h",
        ],
      }
    `);
    expect(clearDirtyIfUnchanged('rollup_1h', '2026-01-01 00:00:00.123456+00')).toMatchInlineSnapshot(`
      {
        "text": "DELETE FROM iotctl.meta WHERE key = $1 AND updated_at::text = $2",
        "values": [
          "dirty:rollup_1h",
          "2026-01-01 00:00:00.123456+00",
        ],
      }
    `);
    expect(clearDirty('rollup_1h')).toMatchInlineSnapshot(`
      {
        "text": "DELETE FROM iotctl.meta WHERE key = $1",
        "values": [
          "dirty:rollup_1h",
        ],
      }
    `);
    expect(readCompleteUntil('rollup_1m')).toMatchInlineSnapshot(`
      {
        "text": "SELECT CASE WHEN d.from_ts IS NULL OR d.from_ts > w.until THEN w.until ELSE d.from_ts END AS until
        FROM (SELECT (SELECT (value->>'until')::timestamptz FROM iotctl.meta WHERE key = $1) AS until) w,
             (SELECT (SELECT (value->>'from')::timestamptz FROM iotctl.meta WHERE key = $2) AS from_ts) d",
        "values": [
          "watermark:rollup_1m",
          "dirty:rollup_1m",
        ],
      }
    `);
  });

  it('keeps policies in iotctl.policies and expires rollup rows by bucket', () => {
    expect(plainPolicies).toMatchInlineSnapshot(`
      {
        "text": "SELECT kind, target, extract(epoch FROM after)::float8 AS after_seconds,
                    extract(epoch FROM schedule)::float8 AS seconds
               FROM iotctl.policies ORDER BY kind, target",
      }
    `);
    expect(plainRetentionCutoffs).toMatchInlineSnapshot(`
      {
        "text": "SELECT target, now() - after AS cutoff, after::text AS after
        FROM iotctl.policies WHERE kind = 'retention'",
      }
    `);
    expect(plainPolicyExists('retention', 'points')).toMatchInlineSnapshot(`
      {
        "text": "SELECT 1 FROM iotctl.policies WHERE kind = $1 AND target = $2",
        "values": [
          "retention",
          "points",
        ],
      }
    `);
    expect(upsertPlainPolicy('retention', 'points', '90 days', '1 day')).toMatchInlineSnapshot(`
      {
        "text": "INSERT INTO iotctl.policies (kind, target, after, schedule) VALUES ($1, $2, $3::interval, $4::interval)
      ON CONFLICT (kind, target) DO UPDATE SET after = EXCLUDED.after, schedule = EXCLUDED.schedule",
        "values": [
          "retention",
          "points",
          "90 days",
          "1 day",
        ],
      }
    `);
    expect(deletePlainPolicy('retention', 'points')).toMatchInlineSnapshot(`
      {
        "text": "DELETE FROM iotctl.policies WHERE kind = $1 AND target = $2",
        "values": [
          "retention",
          "points",
        ],
      }
    `);
    const cutoff = d('2026-01-01T00:00:00Z');
    expect(plainRollupExpired('rollup_1h', parseDuration('1h'), cutoff)).toMatchInlineSnapshot(`
      {
        "text": "SELECT 'iotctl.rollup_1h' AS chunk, e.range_start, e.range_end, false AS compressed, e.n AS rows_estimate,
             (pg_total_relation_size('iotctl.rollup_1h') * e.n / greatest((SELECT count(*) FROM iotctl.rollup_1h), 1))::bigint AS bytes_before, (pg_total_relation_size('iotctl.rollup_1h') * e.n / greatest((SELECT count(*) FROM iotctl.rollup_1h), 1))::bigint AS bytes
        FROM (SELECT min(bucket) AS range_start, max(bucket) + $2::interval AS range_end, count(*)::bigint AS n
                FROM iotctl.rollup_1h WHERE bucket <= $1::timestamptz - $2::interval) e
       WHERE e.n > 0",
        "values": [
          2026-01-01T00:00:00.000Z,
          "1 hours",
        ],
      }
    `);
    expect(deletePlainRollupExpired('rollup_1h', parseDuration('1h'), cutoff)).toMatchInlineSnapshot(`
      {
        "text": "DELETE FROM iotctl.rollup_1h WHERE bucket <= $1::timestamptz - $2::interval",
        "values": [
          2026-01-01T00:00:00.000Z,
          "1 hours",
        ],
      }
    `);
    expect(plainRollupSizes(['rollup_1m'])).toMatchInlineSnapshot(`
      {
        "text": "SELECT r.name, coalesce(pg_total_relation_size(to_regclass(format('%I.%I', $1::text, r.name))), 0)::bigint AS bytes
        FROM unnest($2::text[]) WITH ORDINALITY r(name, i) ORDER BY r.i",
        "values": [
          "iotctl",
          [
            "rollup_1m",
          ],
        ],
      }
    `);
  });
});

describe('the capability probe and the scheduler check', () => {
  it('reads versions, licence and whether the library is loaded, through settings any role may read', () => {
    expect(capabilityProbe).toMatchInlineSnapshot(`
      {
        "text": "SELECT current_setting('server_version') AS server_version,
                  current_setting('server_version_num')::int AS server_version_num,
                  e.installed,
                  CASE WHEN e.installed IS NULL
                       THEN (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') END AS available,
                  current_setting('timescaledb.license', true) AS license,
                  EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers') AS preloaded,
                  (SELECT extversion FROM pg_extension WHERE extname = 'citus') AS citus
             FROM (SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed) e",
      }
    `);
    expect(schedulerState).toMatchInlineSnapshot(`
      {
        "text": "SELECT current_database() AS database,
             (SELECT count(*)::int FROM pg_stat_activity
               WHERE datname = current_database()
                 -- backend_type is hidden from roles without pg_read_all_stats; application_name is not
                 AND 'TimescaleDB Background Worker Scheduler' IN (backend_type, application_name)) AS schedulers,
             current_setting('timescaledb.max_background_workers', true) AS max_workers,
             current_setting('timescaledb.enable_job_execution', true) AS job_execution,
             (SELECT count(*)::int FROM pg_database WHERE datallowconn AND NOT datistemplate) AS databases",
      }
    `);
    expect(chunkTimeRanges('iotctl.points')).toMatchInlineSnapshot(`
      {
        "text": "SELECT DISTINCT (greatest(ds.range_start, -62135596800000000) / 1000)::float8 AS lo,
             (least(ds.range_end, 253402300799000000) / 1000)::float8 AS hi
        FROM show_chunks($1::regclass) AS s(oid)
        JOIN pg_class pc ON pc.oid = s.oid
        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
        JOIN _timescaledb_catalog.chunk ch ON ch.schema_name = pn.nspname AND ch.table_name = pc.relname
        JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = ch.id
        JOIN _timescaledb_catalog.dimension_slice ds ON ds.id = cc.dimension_slice_id
       ORDER BY 1",
        "values": [
          "iotctl.points",
        ],
      }
    `);
    expect(caggWatermark('rollup_1h')).toMatchInlineSnapshot(`
      {
        "text": "SELECT (_timescaledb_functions.cagg_watermark(mat_hypertable_id) / 1000)::float8 AS ms
        FROM _timescaledb_catalog.continuous_agg
       WHERE user_view_schema = 'iotctl' AND user_view_name = $1",
        "values": [
          "rollup_1h",
        ],
      }
    `);
    expect(refreshContinuousAggregate('iotctl.rollup_1h', null, null, v223)).toMatchInlineSnapshot(`
      {
        "text": "CALL refresh_continuous_aggregate('iotctl.rollup_1h', NULL, NULL)",
      }
    `);
  });
});

describe('the job ledger and clock SQL both engines use', () => {
  it('records runs, prunes and summarises them', () => {
    expect(ledgerStart('refresh:rollup_1m', null)).toMatchInlineSnapshot(`
      {
        "text": "INSERT INTO iotctl.job_runs (job, job_id, started_at, status) VALUES ($1, $2, clock_timestamp(), 'running') RETURNING id",
        "values": [
          "refresh:rollup_1m",
          null,
        ],
      }
    `);
    expect(ledgerFinish(7, 'boom', { n: 1 })).toMatchInlineSnapshot(`
      {
        "text": "UPDATE iotctl.job_runs SET finished_at = clock_timestamp(), status = $2, error = $3, details = $4::jsonb WHERE id = $1",
        "values": [
          7,
          "failed",
          "boom",
          "{"n":1}",
        ],
      }
    `);
    expect(ledgerFinish(7, null, undefined).values).toEqual([7, 'success', null, null]);
    expect(ledgerMarkInterrupted()).toMatchInlineSnapshot(`
      {
        "text": "UPDATE iotctl.job_runs SET status = 'failed', finished_at = clock_timestamp(),
             error = 'interrupted: the run did not finish' WHERE status = 'running'",
      }
    `);
    expect(ledgerPrune()).toMatchInlineSnapshot(`
      {
        "text": "DELETE FROM iotctl.job_runs WHERE started_at < now() - $1::interval",
        "values": [
          "90 days",
        ],
      }
    `);
    expect(cutoffAgo('90 days')).toMatchInlineSnapshot(`
      {
        "text": "SELECT now() - $1::interval AS cutoff",
        "values": [
          "90 days",
        ],
      }
    `);
    expect(sameInterval('1 day', '24 hours')).toMatchInlineSnapshot(`
      {
        "text": "SELECT $1::interval = $2::interval AS same",
        "values": [
          "1 day",
          "24 hours",
        ],
      }
    `);
    expect(dbNow).toMatchInlineSnapshot(`
      {
        "text": "SELECT now() AS now",
      }
    `);
  });
});
