// The statements ingest runs, as pure functions (tested by exact text in test/unit/ingest-sql.test.ts).
import { POINTS, SERIES } from '../db/sql/schema.js';
import type { Sql } from '../db/types.js';

export type OnConflict = 'skip' | 'update' | 'error';

export const STAGE = 'iotctl_ingest_stage';

/** Resolves (device, metric) pairs to series ids, creating the missing series in one statement. */
export function upsertSeries(
  devices: string[],
  metrics: string[],
  units: Array<string | null>,
  tags: Array<string | null>,
): Sql {
  return {
    text: `INSERT INTO ${SERIES} AS s (device_id, metric, unit, tags)
SELECT device_id, metric, unit, tags::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(device_id, metric, unit, tags)
ON CONFLICT (device_id, metric) DO UPDATE SET unit = coalesce(EXCLUDED.unit, s.unit), tags = coalesce(EXCLUDED.tags, s.tags)
RETURNING id, device_id, metric`,
    values: [devices, metrics, units, tags],
  };
}

/** The fast path: COPY straight into points (fails with 23505 when a reading is already stored). */
export const copyPoints = `COPY ${POINTS} (time, series_id, value) FROM STDIN (FORMAT binary)`;

/** A staging table that lives for one transaction, for batches that meet stored readings. */
export const createStage = `CREATE TEMP TABLE ${STAGE} (time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL) ON COMMIT DROP`;

export const copyStage = `COPY ${STAGE} (time, series_id, value) FROM STDIN (FORMAT binary)`;

/** Moves the staged batch into points; use its rowCount (update: rows written, new or changed). */
export function insertFromStage(onConflict: OnConflict): string {
  const insert = `INSERT INTO ${POINTS} AS p (time, series_id, value) SELECT time, series_id, value FROM ${STAGE}`;
  if (onConflict === 'error') return insert;
  if (onConflict === 'skip') return `${insert} ON CONFLICT (series_id, time) DO NOTHING`;
  // An identical stored value is left alone (and counted as a duplicate).
  return `${insert} ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value WHERE p.value IS DISTINCT FROM EXCLUDED.value`;
}

/** How many staged readings are already stored (run before the update, to tell new from changed). */
export const countStoredFromStage = `SELECT count(*)::int AS n FROM ${STAGE} s
WHERE EXISTS (SELECT 1 FROM ${POINTS} p WHERE p.series_id = s.series_id AND p.time = s.time)`;
