// Plain PostgreSQL mode's schema: points range-partitioned by time, rollups as tables iotctl refreshes, and
// the statement triggers that mark rollups dirty for late readings.
import { BUCKET_ORIGIN_SQL } from '../../util/buckets.js';
import type { Duration } from '../../util/duration.js';
import type { Sql } from '../types.js';
import { literal, qualified } from './ident.js';
import {
  EVENTS,
  EVENTS_COLUMNS,
  META,
  POINTS,
  POINTS_COLUMNS,
  POLICIES,
  lacksCounterColumns,
  regclassExists,
  rollupName,
  type SchemaStep,
} from './schema.js';

/** date_bin with time_bucket's origin (Monday 2000-01-03), so buckets match TimescaleDB's. */
export function dateBin(interval: string, column: string): string {
  return `date_bin(INTERVAL ${literal(interval)}, ${column}, ${BUCKET_ORIGIN_SQL})`;
}

export function partitionedPointsStep(chunkInterval: Duration): SchemaStep {
  return {
    object: `table ${POINTS} (partitioned by time, ${chunkInterval.text} partitions)`,
    exists: regclassExists(POINTS),
    statements: [
      { text: `CREATE TABLE IF NOT EXISTS ${POINTS} ${POINTS_COLUMNS} PARTITION BY RANGE (time)` },
    ],
  };
}

/** A rollup's counter columns (see counterAggSteps): null only in rows written before they existed. */
const COUNTER_TABLE_COLUMNS = `
  first double precision,
  last double precision,
  increase double precision,`;

/** The events, partitioned like points (same interval; partitions created as events arrive). */
export function partitionedEventsStep(chunkInterval: Duration): SchemaStep {
  return {
    object: `table ${EVENTS} (partitioned by time, ${chunkInterval.text} partitions)`,
    exists: regclassExists(EVENTS),
    statements: [
      { text: `CREATE TABLE IF NOT EXISTS ${EVENTS} ${EVENTS_COLUMNS} PARTITION BY RANGE (time)` },
    ],
  };
}

/** Rollups, finest first: tables of the continuous aggregates' shape that maintain / rollup refresh fill. */
export function rollupTableSteps(rollups: Duration[], counters = true): SchemaStep[] {
  return [...rollups]
    .sort((a, b) => a.ms - b.ms)
    .map((bucket) => {
      const name = qualified(rollupName(bucket));
      return {
        object: `rollup ${name} (table refreshed by iotctl)`,
        exists: regclassExists(name),
        statements: [
          {
            text: `CREATE TABLE IF NOT EXISTS ${name} (
  bucket timestamptz NOT NULL,
  series_id integer NOT NULL,
  count bigint NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  sumsq double precision NOT NULL,${counters ? COUNTER_TABLE_COLUMNS : ''}
  PRIMARY KEY (series_id, bucket)
)`,
          },
          { text: `CREATE INDEX IF NOT EXISTS ${rollupName(bucket)}_bucket_idx ON ${name} (bucket)` },
        ],
      };
    });
}

/**
 * Upgrading a schema 1 store: each rollup table gets the counter columns and loses its watermark, so nothing
 * of it is read until the next refresh has recomputed it whole from its source (every column, these too).
 */
export function rollupCounterUpgradeSteps(rollups: Duration[]): SchemaStep[] {
  return [...rollups]
    .sort((a, b) => a.ms - b.ms)
    .map((bucket) => {
      const name = qualified(rollupName(bucket));
      return {
        object: `counter columns on ${name} (first, last, increase; recomputed by the next refresh)`,
        exists: lacksCounterColumns(name),
        statements: [
          {
            text: `ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS first double precision, ADD COLUMN IF NOT EXISTS last double precision, ADD COLUMN IF NOT EXISTS increase double precision`,
          },
          { text: `DELETE FROM ${META} WHERE key = $1`, values: [`watermark:${rollupName(bucket)}`] },
        ],
      };
    });
}

/** The rows of iotctl.policies: plain mode's retention and refresh policies. */
export const plainPolicies: Sql = {
  text: `SELECT kind, target, extract(epoch FROM after)::float8 AS after_seconds,
              extract(epoch FROM schedule)::float8 AS seconds
         FROM ${POLICIES} ORDER BY kind, target`,
};

/** Retention cutoff of each relation with a plain retention policy, by the database's clock. */
export const plainRetentionCutoffs: Sql = {
  text: `SELECT target, now() - after AS cutoff, after::text AS after
  FROM ${POLICIES} WHERE kind = 'retention'`,
};

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
export function stalenessSteps(rollups: Duration[]): SchemaStep[] {
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
        {
          text: `CREATE OR REPLACE FUNCTION ${DIRTY_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $fn$${body}$fn$`,
        },
        ...triggers.flatMap(([event, refs]) => [
          {
            text: `DROP TRIGGER IF EXISTS points_mark_dirty_${(event as string).toLowerCase()} ON ${POINTS}`,
          },
          {
            text: `CREATE TRIGGER points_mark_dirty_${(event as string).toLowerCase()} AFTER ${event} ON ${POINTS} ${refs} FOR EACH STATEMENT EXECUTE FUNCTION ${DIRTY_FUNCTION}()`,
          },
        ]),
      ],
    },
  ];
}
