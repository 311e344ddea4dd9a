// The iotctl schema: what `init` creates, as pure data (name, existence check, statements).
//
// Physical design: a narrow fact table `points(time, series_id int, value float8)` keyed by an integer
// series id, with `series(id, device_id, metric, unit, tags)` and a view `readings` that reads as
// (time, device_id, metric, value, unit, tags). One unique index (series_id, time DESC) both enforces
// "one reading per device, metric and time" and serves (device, metric, time range) lookups.
import { BUCKET_ORIGIN_SQL } from '../../util/buckets.js';
import type { Duration } from '../../util/duration.js';
import type { Sql } from '../types.js';
import { SCHEMA, literal, qualified } from './ident.js';
import { addRefreshPolicy, createHypertable, enableCompression, type TsdbVersion } from './timescale.js';

export type StoreMode = 'timescaledb' | 'plain';

export const POINTS = qualified('points');
export const SERIES = qualified('series');
export const READINGS = qualified('readings');
export const META = qualified('meta');
export const POLICIES = qualified('policies');
export const JOB_RUNS = qualified('job_runs');
export const POINTS_INDEX = 'points_series_time_uq';

export interface InitOptions {
  chunkInterval: Duration;
  rollups: Duration[];
  compressAfter?: Duration;
  retention?: Duration;
}

export interface SchemaStep {
  /** What the user sees: `table iotctl.points`. */
  object: string;
  /** Returns one row with a boolean column `exists`. */
  exists: Sql;
  statements: Array<Sql | string>;
}

export function rollupName(bucket: Duration): string {
  return `rollup_${bucket.text}`;
}

/** time_bucket on TimescaleDB; date_bin with time_bucket's origin (Monday 2000-01-03) on plain PostgreSQL. */
export function bucketExpr(mode: StoreMode, interval: string, column: string): string {
  if (mode === 'timescaledb') return `time_bucket(INTERVAL ${literal(interval)}, ${column})`;
  return `date_bin(INTERVAL ${literal(interval)}, ${column}, ${BUCKET_ORIGIN_SQL})`;
}

const regclassExists = (name: string): Sql => ({
  text: 'SELECT to_regclass($1) IS NOT NULL AS exists',
  values: [name],
});

const jobExists = (proc: string, table: string): Sql => ({
  text: `SELECT EXISTS (SELECT 1 FROM timescaledb_information.jobs
          WHERE proc_name = $1 AND hypertable_schema = $2 AND hypertable_name = $3) AS exists`,
  values: [proc, SCHEMA, table],
});

const FIVE_MINUTES: Duration = { text: '5m', ms: 300_000, interval: '5 minutes' };

/** Refresh schedule for a rollup: as often as its bucket, but never more than every 5 minutes. */
export function refreshSchedule(bucket: Duration): Duration {
  return bucket.ms < FIVE_MINUTES.ms ? FIVE_MINUTES : bucket;
}

export function schemaSteps(mode: StoreMode, opts: InitOptions, tsdb?: TsdbVersion): SchemaStep[] {
  const steps: SchemaStep[] = [
    {
      object: `schema ${SCHEMA}`,
      exists: {
        text: 'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists',
        values: [SCHEMA],
      },
      statements: [`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`],
    },
    {
      object: `table ${META}`,
      exists: regclassExists(META),
      statements: [
        `CREATE TABLE IF NOT EXISTS ${META} (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
      ],
    },
    {
      object: `table ${SERIES}`,
      exists: regclassExists(SERIES),
      statements: [
        `CREATE TABLE IF NOT EXISTS ${SERIES} (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id text NOT NULL,
  metric text NOT NULL,
  unit text,
  tags jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (device_id, metric)
)`,
      ],
    },
  ];

  const pointsColumns =
    '(time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL)';
  if (mode === 'timescaledb') {
    const v = tsdb as TsdbVersion;
    steps.push(
      {
        object: `table ${POINTS}`,
        exists: regclassExists(POINTS),
        statements: [`CREATE TABLE IF NOT EXISTS ${POINTS} ${pointsColumns}`],
      },
      {
        object: `hypertable ${POINTS} (chunks of ${opts.chunkInterval.text})`,
        exists: {
          text: `SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                  WHERE hypertable_schema = $1 AND hypertable_name = 'points') AS exists`,
          values: [SCHEMA],
        },
        statements: [createHypertable(v, POINTS, 'time', opts.chunkInterval.interval)],
      },
    );
  } else {
    steps.push({
      object: `table ${POINTS} (partitioned by time, ${opts.chunkInterval.text} partitions)`,
      exists: regclassExists(POINTS),
      statements: [`CREATE TABLE IF NOT EXISTS ${POINTS} ${pointsColumns} PARTITION BY RANGE (time)`],
    });
  }
  steps.push(
    {
      object: `index ${SCHEMA}.${POINTS_INDEX} (series_id, time DESC)`,
      exists: regclassExists(`${SCHEMA}.${POINTS_INDEX}`),
      statements: [`CREATE UNIQUE INDEX IF NOT EXISTS ${POINTS_INDEX} ON ${POINTS} (series_id, time DESC)`],
    },
    {
      object: `view ${READINGS}`,
      exists: regclassExists(READINGS),
      statements: [
        `CREATE OR REPLACE VIEW ${READINGS} AS
SELECT p.time, s.device_id, s.metric, p.value, s.unit, s.tags
FROM ${POINTS} p JOIN ${SERIES} s ON s.id = p.series_id`,
      ],
    },
    {
      object: `table ${JOB_RUNS}`,
      exists: regclassExists(JOB_RUNS),
      statements: [
        `CREATE TABLE IF NOT EXISTS ${JOB_RUNS} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job text NOT NULL,
  job_id integer,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  status text NOT NULL CHECK (status IN ('running', 'success', 'failed')),
  error text,
  details jsonb
)`,
        `CREATE INDEX IF NOT EXISTS job_runs_job_started_idx ON ${JOB_RUNS} (job, started_at DESC)`,
      ],
    },
    {
      object: `table ${POLICIES}`,
      exists: regclassExists(POLICIES),
      statements: [
        `CREATE TABLE IF NOT EXISTS ${POLICIES} (
  kind text NOT NULL,
  target text NOT NULL,
  after interval NOT NULL,
  schedule interval NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, target)
)`,
      ],
    },
  );

  if (mode === 'timescaledb') {
    const v = tsdb as TsdbVersion;
    steps.push({
      object: `compression on ${POINTS} (segment by series_id, order by time DESC)`,
      exists: {
        text: `SELECT coalesce((SELECT compression_enabled FROM timescaledb_information.hypertables
                 WHERE hypertable_schema = $1 AND hypertable_name = 'points'), false) AS exists`,
        values: [SCHEMA],
      },
      statements: [enableCompression(v, POINTS, 'series_id', 'time DESC')],
    });
  }

  steps.push(...rollupSteps(mode, opts.rollups, tsdb));

  // Compression and retention policies are not schema: init applies them through setPolicy.
  if (mode === 'plain') steps.push(...stalenessSteps(opts.rollups));
  return steps;
}

/**
 * Rollups, finest first, each built on the one before it (hierarchical). Columns are the ones that
 * recombine exactly: count, sum, min, max and the sum of squares (for stddev).
 * TimescaleDB: continuous aggregates WITH NO DATA (refresh cannot run in a transaction), real-time
 * (materialized_only = false) so the not-yet-materialised tail is read live, and a refresh policy.
 * Plain PostgreSQL: tables of the same shape that `iotctl maintain` / `rollup refresh` keep up to date.
 */
export function rollupSteps(mode: StoreMode, rollups: Duration[], tsdb?: TsdbVersion): SchemaStep[] {
  const steps: SchemaStep[] = [];
  const sorted = [...rollups].sort((a, b) => a.ms - b.ms);
  let source: string | null = null;
  for (const bucket of sorted) {
    const name = qualified(rollupName(bucket));
    if (mode === 'timescaledb') {
      const select: string =
        source === null
          ? `SELECT ${bucketExpr(mode, bucket.interval, 'time')} AS bucket, series_id,
       count(*)::bigint AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
       sum(value * value) AS sumsq
FROM ${POINTS}
GROUP BY 1, 2`
          : `SELECT ${bucketExpr(mode, bucket.interval, 'bucket')} AS bucket, series_id,
       sum(count)::bigint AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
       sum(sumsq) AS sumsq
FROM ${source}
GROUP BY 1, 2`;
      steps.push(
        {
          object: `rollup ${name} (continuous aggregate${source ? ` on ${source}` : ''})`,
          exists: regclassExists(name),
          statements: [
            `CREATE MATERIALIZED VIEW IF NOT EXISTS ${name}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
${select}
WITH NO DATA`,
          ],
        },
        {
          object: `refresh policy on ${name} (every ${refreshSchedule(bucket).text})`,
          exists: jobExists('policy_refresh_continuous_aggregate', rollupName(bucket)),
          statements: [addRefreshPolicy(name, bucket.interval, refreshSchedule(bucket).interval, tsdb)],
        },
      );
    } else {
      steps.push({
        object: `rollup ${name} (table refreshed by iotctl)`,
        exists: regclassExists(name),
        statements: [
          `CREATE TABLE IF NOT EXISTS ${name} (
  bucket timestamptz NOT NULL,
  series_id integer NOT NULL,
  count bigint NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  sumsq double precision NOT NULL,
  PRIMARY KEY (series_id, bucket)
)`,
          `CREATE INDEX IF NOT EXISTS ${rollupName(bucket)}_bucket_idx ON ${name} (bucket)`,
        ],
      });
    }
    source = name;
  }
  return steps;
}

/**
 * Plain mode: taken shared (transaction-level) by the staleness trigger on iotctl.points and exclusive by a
 * rollup refresh, so a refresh never misses a change committed while it computes. Re-exported by ./maintenance.ts.
 */
export const ROLLUP_LOCK_KEY = 7597419066901163381n;
export const DIRTY_FUNCTION = qualified('mark_rollup_dirty');

/**
 * The body of the plain-mode staleness trigger: changed rows older than the finest rollup's watermark mark that
 * rollup dirty from their earliest time (dirty:<rollup> = least(existing, min)). Rows at or after the watermark
 * are covered by the next refresh anyway, so ordinary ingest never writes the row and workers do not contend.
 */
export function dirtyFunctionBody(finest: string): string {
  return `
DECLARE
  changed timestamptz;
  complete timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(${ROLLUP_LOCK_KEY});
  SELECT (value->>'until')::timestamptz INTO complete FROM ${META} WHERE key = ${literal(`watermark:${finest}`)};
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
    INSERT INTO ${META} (key, value) VALUES (${literal(`dirty:${finest}`)}, jsonb_build_object('from', changed))
    ON CONFLICT (key) DO UPDATE
      SET value = jsonb_build_object('from', least((${META}.value->>'from')::timestamptz, changed)), updated_at = now();
  END IF;
  RETURN NULL;
END
`;
}

/**
 * Plain mode only: the statement-level triggers (one per event: transition tables allow one event per trigger)
 * that keep dirty:<finest rollup> for late readings. The function names the finest rollup, so the step compares
 * the function's body and replaces it when the rollups change.
 */
function stalenessSteps(rollups: Duration[]): SchemaStep[] {
  if (rollups.length === 0) return [];
  const finest = rollupName([...rollups].sort((a, b) => a.ms - b.ms)[0] as Duration);
  const body = dirtyFunctionBody(finest);
  const triggers = [
    ['INSERT', 'REFERENCING NEW TABLE AS new_rows'],
    ['UPDATE', 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'],
    ['DELETE', 'REFERENCING OLD TABLE AS old_rows'],
  ];
  return [
    {
      object: `staleness trigger on ${POINTS} (marks ${qualified(finest)} dirty for late readings)`,
      exists: {
        text: `SELECT coalesce((SELECT prosrc = $1 FROM pg_proc WHERE oid = to_regprocedure($2)), false)
   AND (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($3) AND tgname LIKE 'points_mark_dirty_%') = 3 AS exists`,
        values: [body, `${DIRTY_FUNCTION}()`, POINTS],
      },
      statements: [
        `CREATE OR REPLACE FUNCTION ${DIRTY_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $fn$${body}$fn$`,
        ...triggers.flatMap(([event, refs]) => [
          `DROP TRIGGER IF EXISTS points_mark_dirty_${(event as string).toLowerCase()} ON ${POINTS}`,
          `CREATE TRIGGER points_mark_dirty_${(event as string).toLowerCase()} AFTER ${event} ON ${POINTS} ${refs} FOR EACH STATEMENT EXECUTE FUNCTION ${DIRTY_FUNCTION}()`,
        ]),
      ],
    },
  ];
}
