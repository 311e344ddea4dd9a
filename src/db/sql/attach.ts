// Bulk loading a chunk range that has no chunk yet (TimescaleDB 2.21+ on a server): the readings are COPYed into
// a table of their own with no index, and attach_chunk then makes it the chunk, building its unique index in one
// sorted pass instead of one index descent and WAL record per row. Exact text pinned in test/unit/attach-sql.test.ts.
import type { Sql } from '../types.js';
import { SCHEMA, ident, qualified } from './ident.js';
import { POINTS } from './schema.js';

/**
 * Whether attach_chunk(regclass, regclass, jsonb) exists (the community license: the version check is hasAttachChunk) and this
 * role may use it as ingest does: it owns points (directly or through a role it inherits), so the chunks it
 * attaches are owned as TimescaleDB's own are and maintenance can compress and drop them, and it may create
 * tables in the schema. An ingest-only role (INSERT on points) writes every batch into points instead.
 */
export const attachChunkAvailable: Sql = {
  text: `SELECT to_regprocedure('attach_chunk(regclass, regclass, jsonb)') IS NOT NULL
  AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = '${POINTS}'::regclass), 'USAGE')
  AND has_schema_privilege('${SCHEMA}', 'CREATE') AS available`,
  values: [],
};

/**
 * The hypertable's time interval in microseconds, when it has exactly one dimension, by time with a fixed
 * interval (what iotctl creates); no row otherwise, and then nothing is attached.
 */
export const pointsChunkInterval: Sql = {
  text: `SELECT (extract(epoch FROM max(time_interval)) * 1000000)::bigint AS interval_us
FROM timescaledb_information.dimensions
WHERE hypertable_schema = '${SCHEMA}' AND hypertable_name = 'points'
HAVING count(*) = 1 AND max(time_interval) IS NOT NULL AND bool_and(column_name = 'time')`,
  values: [],
};

/** A name for the table of one range: the range's start (UTC day, or day and time) and a random suffix. */
export function bulkTableName(startUs: number, suffix: string): string {
  const iso = new Date(startUs / 1000).toISOString();
  const stamp =
    iso.slice(0, 10).replace(/-/g, '') +
    (iso.slice(11, 19) === '00:00:00' ? '' : '_' + iso.slice(11, 19).replace(/:/g, ''));
  return ident(`points_bulk_${stamp}_${suffix}`);
}

/**
 * First in a range's transaction. It sits idle between its batches while the client reads on (or fills another
 * range), and its attach builds a whole chunk's index: a server's idle-in-transaction or statement timeout,
 * meant for forgotten sessions and runaway queries, would end it and fail the load every time it is re-run.
 */
export const bulkTransactionSettings: Sql[] = [
  { text: 'SET LOCAL idle_in_transaction_session_timeout = 0', values: [] },
  { text: 'SET LOCAL statement_timeout = 0', values: [] },
];

/** The range's table: points' columns, no index (attach_chunk adds the hypertable's). */
export function createBulkTable(name: string): Sql {
  return { text: `CREATE TABLE ${qualified(name)} (LIKE ${POINTS} INCLUDING DEFAULTS)`, values: [] };
}

export function copyBulk(name: string): Sql {
  return { text: `COPY ${qualified(name)} (time, series_id, value) FROM STDIN (FORMAT binary)`, values: [] };
}

/**
 * Held to the end of the range's transaction: chunk creation takes the same lock, so no chunk can appear in the
 * range between the check below and the attach. Inserts into existing chunks (ROW EXCLUSIVE) do not wait.
 */
export const lockPointsForAttach: Sql = {
  text: `LOCK TABLE ${POINTS} IN SHARE UPDATE EXCLUSIVE MODE`,
  values: [],
};

/** Chunks of points overlapping [from, to) (another ingest may have created one since the range was opened). */
export function chunksInRange(from: Date, to: Date): Sql {
  return {
    text: `SELECT count(*)::int AS n FROM timescaledb_information.chunks
WHERE hypertable_schema = '${SCHEMA}' AND hypertable_name = 'points' AND range_start < $2 AND range_end > $1`,
    values: [from, to],
  };
}

/** Makes the range's table the chunk for [from, to). */
export function attachChunk(name: string, from: Date, to: Date): Sql {
  return {
    text: `CALL attach_chunk('${POINTS}'::regclass, '${qualified(name)}'::regclass, $1::jsonb)`,
    values: [JSON.stringify({ time: [from.toISOString(), to.toISOString()] })],
  };
}

/**
 * Removes the readings written twice to the range (in different batches), keeping the first one written, as
 * COPY into points then ON CONFLICT DO NOTHING would; returns `n`, the rows removed.
 */
export function dedupeBulk(name: string): Sql {
  const t = qualified(name);
  return {
    text: `WITH gone AS (DELETE FROM ${t} WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM (SELECT ctid, row_number() OVER (PARTITION BY series_id, time ORDER BY ctid) AS k FROM ${t}) d WHERE k > 1
)) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    values: [],
  };
}

/** When a chunk appeared in the range after all: the range's readings go in as a batch that meets stored ones would. */
export function insertFromBulk(name: string): Sql {
  return {
    text: `WITH written AS (INSERT INTO ${POINTS} (time, series_id, value) SELECT time, series_id, value FROM ${qualified(name)}
ON CONFLICT (series_id, time) DO NOTHING RETURNING 1) SELECT count(*)::int AS n FROM written`,
    values: [],
  };
}

export function dropBulkTable(name: string): Sql {
  return { text: `DROP TABLE ${qualified(name)}`, values: [] };
}

/**
 * Attaching records no continuous-aggregate invalidation. Rewriting the range's first and last readings through
 * the hypertable does: TimescaleDB logs [first, last] for the transaction, as it would for the COPY itself.
 */
export function touchRangeEnds(first: { sid: number; time: Date }, last: { sid: number; time: Date }): Sql {
  return {
    text: `UPDATE ${POINTS} SET value = value WHERE (series_id = $1 AND time = $2) OR (series_id = $3 AND time = $4)`,
    values: [first.sid, first.time, last.sid, last.time],
  };
}
