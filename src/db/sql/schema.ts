// The iotctl schema: what `init` creates, as pure data (name, existence check, statements).
//
// Physical design: a narrow fact table `points(time, series_id int, value float8)` keyed by an integer
// series id, with `series(id, device_id, metric, unit, tags)` and a view `readings` that reads as
// (time, device_id, metric, value, unit, tags). One unique index (series_id, time DESC) both enforces
// "one reading per device, metric and time" and serves (device, metric, time range) lookups.
import type { Duration } from '../../util/duration.js';
import type { Sql } from '../types.js';
import { SCHEMA, qualified } from './ident.js';

export const POINTS = qualified('points');
export const SERIES = qualified('series');
export const READINGS = qualified('readings');
export const META = qualified('meta');
export const POLICIES = qualified('policies');
export const JOB_RUNS = qualified('job_runs');
export const POINTS_INDEX = 'points_series_time_uq';
export const EVENTS = qualified('events');
export const EVENT_LOG = qualified('event_log');
export const EVENTS_INDEX = 'events_series_time_uq';

export interface InitOptions {
  chunkInterval: Duration;
  rollups: Duration[];
  compressAfter?: Duration;
  retention?: Duration;
  /** Whether rollups get counter columns (first, last, increase); false on stores of schema 1 not upgraded. */
  counters?: boolean;
}

export interface SchemaStep {
  /** What the user sees: `table iotctl.points`. */
  object: string;
  /** Returns one row with a boolean column `exists`. */
  exists: Sql;
  statements: Sql[];
}

export function rollupName(bucket: Duration): string {
  return `rollup_${bucket.text}`;
}

export const regclassExists = (name: string): Sql => ({
  text: 'SELECT to_regclass($1) IS NOT NULL AS exists',
  values: [name],
});

const FIVE_MINUTES: Duration = { text: '5m', ms: 300_000, interval: '5 minutes' };

/** Refresh schedule for a rollup: as often as its bucket, but never more than every 5 minutes. */
export function refreshSchedule(bucket: Duration): Duration {
  return bucket.ms < FIVE_MINUTES.ms ? FIVE_MINUTES : bucket;
}

/** The tables every engine has before the readings table: schema, meta, series. */
export function baseSteps(): SchemaStep[] {
  return [
    {
      object: `schema ${SCHEMA}`,
      exists: {
        text: 'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists',
        values: [SCHEMA],
      },
      statements: [{ text: `CREATE SCHEMA IF NOT EXISTS ${SCHEMA}` }],
    },
    {
      object: `table ${META}`,
      exists: regclassExists(META),
      statements: [
        {
          text: `CREATE TABLE IF NOT EXISTS ${META} (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
        },
      ],
    },
    {
      object: `table ${SERIES}`,
      exists: regclassExists(SERIES),
      statements: [
        {
          text: `CREATE TABLE IF NOT EXISTS ${SERIES} (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id text NOT NULL,
  metric text NOT NULL,
  unit text,
  tags jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (device_id, metric)
)`,
        },
      ],
    },
  ];
}

export const POINTS_COLUMNS =
  '(time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL)';

/** The store schema version (iotctl.meta config) from which rollups have counter columns. */
export const COUNTER_SCHEMA_VERSION = 2;

export const COUNTER_AGG = qualified('counter_agg');

/**
 * Rollup counter columns over rows in time order: `counter_agg(first, last, increase ORDER BY time)` is
 * {first, last, increase}, where the increase adds up each row's increase within and the steps between
 * rows (`first - previous last`, or `first` after a drop: a reset starts a new run from its first value).
 * A reading is the row (value, value, 0); a rollup bucket its stored columns, so coarser rollups combine finer.
 */
export function counterAggSteps(): SchemaStep[] {
  const step = qualified('counter_step');
  return [
    {
      object: `function ${step}`,
      exists: {
        text: 'SELECT to_regprocedure($1) IS NOT NULL AS exists',
        values: [`${step}(float8[], float8, float8, float8)`],
      },
      statements: [
        {
          // PL/pgSQL updates the state array in place; an SQL function building a new array each row made
          // the finest rollup's aggregate 2.0x as slow as the sums alone (bench/counters.js), this 1.4x.
          text: `CREATE OR REPLACE FUNCTION ${step}(state float8[], f float8, l float8, i float8) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF state IS NULL THEN
    RETURN ARRAY[f, l, i];
  END IF;
  state[3] := state[3] + i + CASE WHEN f < state[2] THEN f ELSE f - state[2] END;
  state[2] := l;
  RETURN state;
END
$$`,
        },
      ],
    },
    {
      object: `aggregate ${COUNTER_AGG}`,
      exists: {
        text: 'SELECT to_regprocedure($1) IS NOT NULL AS exists',
        values: [`${COUNTER_AGG}(float8, float8, float8)`],
      },
      statements: [
        {
          text: `CREATE AGGREGATE ${COUNTER_AGG}(float8, float8, float8) (SFUNC = ${step}, STYPE = float8[])`,
        },
      ],
    },
  ];
}

/**
 * Text and boolean values (a door `open`, a pump `ON`, a wind direction, a log line): one row per series and
 * time like points, with the series shared with the readings, an optional level (log lines) and a JSON
 * payload. Stored beside points, never in it: points stays a narrow numeric table.
 */
export const EVENTS_COLUMNS =
  '(time timestamptz NOT NULL, series_id integer NOT NULL, value text NOT NULL, level text, payload jsonb)';

/** The events' unique index and the view that reads them with their series (after the events table). */
export function eventSteps(): SchemaStep[] {
  return [
    {
      object: `index ${SCHEMA}.${EVENTS_INDEX} (series_id, time DESC)`,
      exists: regclassExists(`${SCHEMA}.${EVENTS_INDEX}`),
      statements: [
        { text: `CREATE UNIQUE INDEX IF NOT EXISTS ${EVENTS_INDEX} ON ${EVENTS} (series_id, time DESC)` },
      ],
    },
    {
      object: `view ${EVENT_LOG}`,
      exists: regclassExists(EVENT_LOG),
      statements: [
        {
          text: `CREATE OR REPLACE VIEW ${EVENT_LOG} AS
SELECT e.time, s.device_id, s.metric, e.value, e.level, e.payload, s.unit, s.tags
FROM ${EVENTS} e JOIN ${SERIES} s ON s.id = e.series_id`,
        },
      ],
    },
  ];
}

/** The counter columns of a rollup computed from `source` rows ordered by `time`. */
export function counterColumns(source: 'points' | 'rollup', time: string): string[] {
  const args = source === 'points' ? 'value, value, 0' : 'first, last, increase';
  const agg = `${COUNTER_AGG}(${args} ORDER BY ${time})`;
  return [`(${agg})[1]`, `(${agg})[2]`, `(${agg})[3]`];
}

/** Whether relation `name` exists without counter columns (a rollup of a schema 1 store). */
export function lacksCounterColumns(name: string): Sql {
  return {
    text: `SELECT NOT (to_regclass($1) IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'increase' AND NOT attisdropped)) AS exists`,
    values: [name],
  };
}

/** What every engine has after the readings table: its unique index, the readings view, the ledger, policies. */
export function commonSteps(): SchemaStep[] {
  return [
    ...counterAggSteps(),
    {
      object: `index ${SCHEMA}.${POINTS_INDEX} (series_id, time DESC)`,
      exists: regclassExists(`${SCHEMA}.${POINTS_INDEX}`),
      statements: [
        { text: `CREATE UNIQUE INDEX IF NOT EXISTS ${POINTS_INDEX} ON ${POINTS} (series_id, time DESC)` },
      ],
    },
    {
      object: `view ${READINGS}`,
      exists: regclassExists(READINGS),
      statements: [
        {
          text: `CREATE OR REPLACE VIEW ${READINGS} AS
SELECT p.time, s.device_id, s.metric, p.value, s.unit, s.tags
FROM ${POINTS} p JOIN ${SERIES} s ON s.id = p.series_id`,
        },
      ],
    },
    {
      object: `table ${JOB_RUNS}`,
      exists: regclassExists(JOB_RUNS),
      statements: [
        {
          text: `CREATE TABLE IF NOT EXISTS ${JOB_RUNS} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job text NOT NULL,
  job_id integer,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  status text NOT NULL CHECK (status IN ('running', 'success', 'failed')),
  error text,
  details jsonb
)`,
        },
        { text: `CREATE INDEX IF NOT EXISTS job_runs_job_started_idx ON ${JOB_RUNS} (job, started_at DESC)` },
      ],
    },
    {
      object: `table ${POLICIES}`,
      exists: regclassExists(POLICIES),
      statements: [
        {
          text: `CREATE TABLE IF NOT EXISTS ${POLICIES} (
  kind text NOT NULL,
  target text NOT NULL,
  after interval NOT NULL,
  schedule interval NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, target)
)`,
        },
      ],
    },
  ];
}

/** The statement that stores init's configuration. */
export function upsertConfig(value: unknown): Sql {
  return {
    text: `INSERT INTO ${META} (key, value) VALUES ('config', $1::jsonb)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
    values: [JSON.stringify(value)],
  };
}

/** Whether iotctl.meta exists (init has run), and the stored configuration. */
export const metaExists: Sql = { text: 'SELECT to_regclass($1) IS NOT NULL AS ok', values: [META] };
export const readConfig: Sql = { text: `SELECT value FROM ${META} WHERE key = 'config'` };
export const countSeries: Sql = { text: `SELECT count(*)::int AS n FROM ${SERIES}` };
