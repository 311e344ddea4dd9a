// The Citus engine's statements: distributing the store (series as a reference table, points and rollups
// distributed by series_id and co-located), partition listings with sizes read from the shards, columnar
// conversion, the rewrites of queries Citus cannot plan, and the dirty mark ingest writes itself.
import type { Sql } from '../types.js';
import { SCHEMA, qualified } from './ident.js';
import { ROLLUP_LOCK_KEY } from './plain.js';
import { Params, latestReadingsVia, seriesConditions, type SeriesFilter } from './query.js';
import { EVENTS, META, POINTS, SERIES, type SchemaStep } from './schema.js';

/**
 * Shards of points (and of every rollup, co-located with it). Citus's default of 32 cuts each daily partition
 * into 32 small tables of ~1,000 rows on a fleet of a few hundred series, too few for columnar's stripes to
 * compress (2.2x where one local table gets 10x); 4 shards still spread over two workers twice.
 */
export const CITUS_SHARD_COUNT = 4;

/** Where a table is distributed (or a reference table) according to Citus's metadata. */
export function distributedExists(table: string): Sql {
  return {
    text: 'SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1)) AS exists',
    values: [table],
  };
}

/** series on every node: the workers join it locally to every shard of points. */
export function referenceSeriesStep(): SchemaStep {
  return {
    object: `reference table ${SERIES} (copied to every node)`,
    exists: distributedExists(SERIES),
    statements: [{ text: 'SELECT create_reference_table($1)', values: [SERIES] }],
  };
}

export function distributePointsStep(shardCount = CITUS_SHARD_COUNT): SchemaStep {
  return {
    object: `distribution of ${POINTS} (by series_id, ${shardCount} shards)`,
    exists: distributedExists(POINTS),
    statements: [
      {
        text: "SELECT create_distributed_table($1, 'series_id', shard_count => $2::int)",
        values: [POINTS, shardCount],
      },
    ],
  };
}

/** The events' shards live beside the readings' of the same series. */
export function distributeEventsStep(): SchemaStep {
  return {
    object: `distribution of ${EVENTS} (by series_id, co-located with ${POINTS})`,
    exists: distributedExists(EVENTS),
    statements: [
      {
        text: "SELECT create_distributed_table($1, 'series_id', colocate_with => $2)",
        values: [EVENTS, POINTS],
      },
    ],
  };
}

/** A rollup's shards live beside the shards of points they are computed from: refreshes run on the workers. */
export function distributeRollupStep(rollup: string): SchemaStep {
  const table = qualified(rollup);
  return {
    object: `distribution of ${table} (by series_id, co-located with ${POINTS})`,
    exists: distributedExists(table),
    statements: [
      {
        text: "SELECT create_distributed_table($1, 'series_id', colocate_with => $2)",
        values: [table, POINTS],
      },
    ],
  };
}

/**
 * What each node's planner knows of the rows of the shards of points it holds: one statement per node
 * (run_command_on_all_nodes), each returning its analysed shards' names and reltuples as JSON. The
 * coordinator's shells of the same names carry no shard id and match no shard.
 */
const SHARD_ESTIMATES = `SELECT coalesce(json_agg(json_build_object('shard', c.relname, 'tuples', c.reltuples)), '[]') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${SCHEMA}' AND c.relkind = 'r' AND c.relname LIKE 'points\\_p%' AND c.reltuples >= 0`;

/**
 * Partitions of points in the chunk-listing shape, oldest first (only those entirely older than $1 when
 * given). The coordinator holds empty shells: bytes are the shards' sizes on the workers, read in one round
 * of citus_shard_sizes() (pg_total_relation_size of each shard), and the row estimate is the sum of the
 * shards' own estimates (reltuples on the node holding each, NULL where no shard of the partition has been
 * analysed); a columnar partition counts as compressed.
 */
export function citusPartitions(olderThan?: Date, parent: 'points' | 'events' = 'points'): Sql {
  return {
    text: `WITH sizes AS (
  SELECT s.logicalrelid AS relid, sum(z.size)::bigint AS bytes
    FROM citus_shard_sizes() z JOIN pg_dist_shard s ON s.shardid = z.shard_id
   GROUP BY s.logicalrelid
), nodes AS MATERIALIZED (
  SELECT x.result FROM run_command_on_all_nodes($q$${SHARD_ESTIMATES}$q$) x WHERE x.success
), estimates AS (
  SELECT s.logicalrelid AS relid, sum(e.tuples)::bigint AS rows
    FROM nodes CROSS JOIN LATERAL json_to_recordset(nodes.result::json) AS e(shard text, tuples float8)
    JOIN (SELECT d.logicalrelid, r.relname || '_' || d.shardid AS shard
            FROM pg_dist_shard d JOIN pg_class r ON r.oid = d.logicalrelid) s ON s.shard = e.shard
   GROUP BY s.logicalrelid
)
SELECT * FROM (
  SELECT n.nspname || '.' || c.relname AS chunk,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS range_start,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS range_end,
         coalesce(am.amname = 'columnar', false) AS compressed,
         w.rows AS rows_estimate,
         coalesce(z.bytes, 0)::bigint AS bytes_before,
         coalesce(z.bytes, 0)::bigint AS bytes
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
    LEFT JOIN pg_am am ON am.oid = c.relam
    LEFT JOIN sizes z ON z.relid = c.oid
    LEFT JOIN estimates w ON w.relid = c.oid
   WHERE n.nspname = '${SCHEMA}' AND p.relname = '${parent}'
) parts${olderThan ? ' WHERE range_end <= $1::timestamptz' : ''}
 ORDER BY range_start`,
    values: olderThan ? [olderThan] : [],
  };
}

/** Bytes of each rollup named, in the order given, summed over its shards on the workers. */
export function citusRollupSizes(rollups: string[]): Sql {
  return {
    text: `SELECT r.name, coalesce(citus_total_relation_size(to_regclass(format('%I.%I', $1::text, r.name))), 0)::bigint AS bytes
  FROM unnest($2::text[]) WITH ORDINALITY r(name, i) ORDER BY r.i`,
    values: [SCHEMA, rollups],
  };
}

function partitionOf(chunk: string): string {
  const [schema, name] = chunk.split('.');
  if (schema !== SCHEMA || !name || !/^(points|events)_p[0-9_]+$/.test(name))
    throw new Error(`not an iotctl partition: ${chunk}`);
  return qualified(name);
}

/** compress: a partition (every shard of it) rewritten into the columnar access method. */
export function toColumnar(chunk: string): Sql {
  return {
    text: "SELECT alter_table_set_access_method($1::regclass, 'columnar')",
    values: [partitionOf(chunk)],
  };
}

/** compress undo: back to heap, where UPDATE, DELETE and ON CONFLICT DO UPDATE work again. */
export function toHeap(chunk: string): Sql {
  return {
    text: "SELECT alter_table_set_access_method($1::regclass, 'heap')",
    values: [partitionOf(chunk)],
  };
}

/**
 * `query latest` as Citus can plan it: DISTINCT ON (series_id) runs on each shard (it is the distribution
 * column); the LATERAL ... LIMIT 1 form is refused ("cannot push down this subquery").
 */
export function citusLatestReadings(filter: SeriesFilter, stale?: string): Sql {
  return latestReadingsVia(
    filter,
    stale,
    `JOIN (SELECT DISTINCT ON (r.series_id) r.series_id, r.time, r.value FROM ${POINTS} r
         WHERE r.series_id IN (SELECT id FROM sel)
         ORDER BY r.series_id, r.time DESC) l ON l.series_id = sel.id`,
  );
}

/**
 * The selected series in device, metric order with the shard of points that holds each: a per-series
 * statement (LIMIT in a correlated subquery) restricted to the series of one shard is sent to that shard's
 * worker whole, where Citus refuses to split it over shards.
 */
export function seriesShards(filter: SeriesFilter): Sql {
  const p = new Params();
  const points = p.add(POINTS, '::regclass');
  const where = seriesConditions(filter, p);
  const text = `SELECT id, get_shard_id_for_distribution_column(${points}, id) AS shard
  FROM ${SERIES}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
 ORDER BY device_id, metric`;
  return { text, values: p.values };
}

/** Taken shared by an ingest transaction before it reads the watermark: a refresh holds it exclusive. */
export const lockRollupsShared: Sql = {
  text: 'SELECT pg_advisory_xact_lock_shared($1::bigint)',
  values: [ROLLUP_LOCK_KEY.toString()],
};

/**
 * What the plain-mode trigger does, written by ingest in the batch's own transaction: when the batch's oldest
 * reading ($3) is below the rollup's watermark, dirty:<rollup> = least(existing, $3). One statement; no row is
 * written for readings at or after the watermark (the next refresh covers them anyway).
 */
export function markDirtyBelowWatermark(rollup: string, from: Date): Sql {
  return {
    text: `INSERT INTO ${META} (key, value)
SELECT $1, jsonb_build_object('from', $3::text) FROM ${META} w
 WHERE w.key = $2 AND $3::timestamptz < (w.value->>'until')::timestamptz
ON CONFLICT (key) DO UPDATE SET value = jsonb_build_object('from',
  CASE WHEN (${META}.value->>'from')::timestamptz <= $3::timestamptz THEN ${META}.value->>'from' ELSE $3::text END),
  updated_at = EXCLUDED.updated_at`,
    values: [`dirty:${rollup}`, `watermark:${rollup}`, from.toISOString()],
  };
}

/** Nodes the coordinator has marked inactive: shards there cannot be read or written. */
export const inactiveNodes: Sql = {
  text: "SELECT nodename || ':' || nodeport AS node FROM pg_dist_node WHERE NOT isactive AND noderole = 'primary' ORDER BY nodeid",
};

/** citus_columnar: a separate extension since Citus 11.1 that `compress` needs. */
export const columnarInstalled: Sql = {
  text: "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus_columnar') AS exists",
};
export const createColumnar: Sql = { text: 'CREATE EXTENSION IF NOT EXISTS citus_columnar' };
