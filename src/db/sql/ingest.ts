// The statements ingest runs, as pure functions returning { text, values } (exact text pinned in
// test/unit/ingest-sql.test.ts).
import type { Sql } from '../types.js';
import { POINTS, SERIES } from './schema.js';

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
export function copyPoints(): Sql {
  return { text: `COPY ${POINTS} (time, series_id, value) FROM STDIN (FORMAT binary)`, values: [] };
}

/** A staging table that lives for one transaction, for batches that meet stored readings. */
export function createStage(): Sql {
  return {
    text: `CREATE TEMP TABLE ${STAGE} (time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL) ON COMMIT DROP`,
    values: [],
  };
}

export function copyStage(): Sql {
  return { text: `COPY ${STAGE} (time, series_id, value) FROM STDIN (FORMAT binary)`, values: [] };
}

/**
 * Moves the staged batch into points; returns one row, `n`, the rows written (update: new or changed). Counted
 * from RETURNING, not the command tag: Citus's INSERT ... SELECT through the coordinator tags every row it
 * read as inserted, conflicts skipped included.
 */
export function insertFromStage(onConflict: OnConflict): Sql {
  const insert = `INSERT INTO ${POINTS} AS p (time, series_id, value) SELECT time, series_id, value FROM ${STAGE}`;
  const counted = (statement: string): Sql => ({
    text: `WITH written AS (${statement} RETURNING 1) SELECT count(*)::int AS n FROM written`,
    values: [],
  });
  if (onConflict === 'error') return counted(insert);
  if (onConflict === 'skip') return counted(`${insert} ON CONFLICT (series_id, time) DO NOTHING`);
  // An identical stored value is left alone (and counted as a duplicate).
  return counted(
    `${insert} ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value WHERE p.value IS DISTINCT FROM EXCLUDED.value`,
  );
}

/**
 * How many staged readings are already stored (run before the update, to tell new from changed). A join, not
 * EXISTS: Citus plans a join of the local staging table with distributed points, not the correlated subquery.
 * The stage holds each (series_id, time) once (batches are de-duplicated), so the join counts each once.
 */
export function countStoredFromStage(): Sql {
  return {
    text: `SELECT count(*)::int AS n FROM ${STAGE} s
JOIN ${POINTS} p ON p.series_id = s.series_id AND p.time = s.time`,
    values: [],
  };
}
