// The statements that write events (text and boolean values beside the readings), as pure functions.
// A batch is staged in a temporary table and moved with INSERT ... ON CONFLICT, like a readings batch that
// meets stored readings: events are few beside readings, and one path serves every engine (Citus included).
import type { Sql } from '../types.js';
import type { OnConflict } from './ingest.js';
import { Params, routedTo, selectSeries, type SeriesFilter } from './query.js';
import { EVENTS, POINTS } from './schema.js';

export const EVENT_STAGE = 'iotctl_event_stage';

/** Whether the store has its events table (a store set up before it has none until `init` runs again). */
export const eventsTableExists: Sql = {
  text: 'SELECT to_regclass($1) IS NOT NULL AS exists',
  values: [EVENTS],
};

export function createEventStage(): Sql {
  return {
    text: `CREATE TEMP TABLE ${EVENT_STAGE} (time timestamptz NOT NULL, series_id integer NOT NULL, value text NOT NULL, level text, payload jsonb) ON COMMIT DROP`,
    values: [],
  };
}

/** Fills the stage from parallel arrays (times as ISO text with microseconds). */
export function stageEvents(
  times: string[],
  series: number[],
  values: string[],
  levels: Array<string | null>,
  payloads: Array<string | null>,
): Sql {
  return {
    text: `INSERT INTO ${EVENT_STAGE} (time, series_id, value, level, payload)
SELECT t, s, v, l, p::jsonb FROM unnest($1::timestamptz[], $2::int[], $3::text[], $4::text[], $5::text[]) AS u(t, s, v, l, p)`,
    values: [times, series, values, levels, payloads],
  };
}

/** Moves the stage into events; one row, `n`, the rows written (update: new or changed). */
export function insertEventsFromStage(onConflict: OnConflict): Sql {
  const insert = `INSERT INTO ${EVENTS} AS e (time, series_id, value, level, payload) SELECT time, series_id, value, level, payload FROM ${EVENT_STAGE}`;
  const counted = (statement: string): Sql => ({
    text: `WITH written AS (${statement} RETURNING 1) SELECT count(*)::int AS n FROM written`,
    values: [],
  });
  if (onConflict === 'error') return counted(insert);
  if (onConflict === 'skip') return counted(`${insert} ON CONFLICT (series_id, time) DO NOTHING`);
  return counted(
    `${insert} ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value, level = EXCLUDED.level, payload = EXCLUDED.payload
 WHERE (e.value, e.level, e.payload) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.level, EXCLUDED.payload)`,
  );
}

/** How many staged events are already stored (before an update, to tell new from changed). */
export function countStoredEvents(): Sql {
  return {
    text: `SELECT count(*)::int AS n FROM ${EVENT_STAGE} s
JOIN ${EVENTS} e ON e.series_id = s.series_id AND e.time = s.time`,
    values: [],
  };
}

/**
 * One keyset page of the selected series' events in [from, to), by series and time, with `levels` (when
 * given) the only levels listed. Spelled out like rawPage's keyset (not a row comparison).
 */
export function eventsPage(
  filter: SeriesFilter,
  range: { from: Date; to: Date },
  pageSize: number,
  opts: { levels?: string[]; after?: { seriesId: number; time: Date } } = {},
): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const from = p.add(range.from, '::timestamptz');
  const to = p.add(range.to, '::timestamptz');
  let keyset = '';
  if (opts.after) {
    const id = p.add(opts.after.seriesId, '::int');
    keyset = ` AND (e.series_id > ${id} OR (e.series_id = ${id} AND e.time > ${p.add(opts.after.time, '::timestamptz')}))`;
  }
  const level = opts.levels?.length ? ` AND e.level = ANY(${p.add(opts.levels, '::text[]')})` : '';
  const text = `WITH ${sel}
SELECT e.series_id, e.time, sel.device_id AS device, sel.metric, e.value, e.level, e.payload
  FROM ${EVENTS} e JOIN sel ON sel.id = e.series_id
 WHERE e.time >= ${from} AND e.time < ${to}${level}${keyset}
 ORDER BY e.series_id, e.time
 LIMIT ${p.add(pageSize, '::int')}`;
  return { text, values: p.values };
}

/** Whether the selected series hold any event and any reading (two index probes; one shard's on Citus). */
export function eventsAndReadings(filter: SeriesFilter): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const onlyE = routedTo(filter, p, 'e');
  const onlyR = routedTo(filter, p, 'r');
  const text = `WITH ${sel}
SELECT EXISTS (SELECT 1 FROM ${EVENTS} e JOIN sel ON sel.id = e.series_id${onlyE ? ` WHERE true${onlyE}` : ''}) AS events,
       EXISTS (SELECT 1 FROM ${POINTS} r JOIN sel ON sel.id = r.series_id${onlyR ? ` WHERE true${onlyR}` : ''}) AS readings`;
  return { text, values: p.values };
}

/**
 * The selected series with the state each was in at `at`: its last event before then (one index probe a
 * series; NULLs when none), in device, metric order.
 */
export function statesAt(filter: SeriesFilter, at: Date): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const only = routedTo(filter, p, 'e');
  const text = `WITH ${sel}
SELECT sel.id, sel.device_id AS device, sel.metric, c.time, c.value
  FROM sel
  LEFT JOIN LATERAL (SELECT e.time, e.value FROM ${EVENTS} e
                      WHERE e.series_id = sel.id AND e.time < ${p.add(at, '::timestamptz')}${only}
                      ORDER BY e.time DESC LIMIT 1) c ON true
 ORDER BY sel.device_id, sel.metric`;
  return { text, values: p.values };
}

/**
 * How many events (and of how many series) the selected series hold in [from, to) (null: open), for
 * `export`, which writes readings only and says what it left out.
 */
export function eventsCount(filter: SeriesFilter, range: { from: Date | null; to: Date | null }): Sql {
  const p = new Params();
  const sel = selectSeries(filter, p);
  const where: string[] = [];
  if (range.from) where.push(`e.time >= ${p.add(range.from, '::timestamptz')}`);
  if (range.to) where.push(`e.time < ${p.add(range.to, '::timestamptz')}`);
  const text = `WITH ${sel}
SELECT count(*)::bigint AS events, count(DISTINCT e.series_id)::int AS series
  FROM ${EVENTS} e JOIN sel ON sel.id = e.series_id${where.length ? `\n WHERE ${where.join(' AND ')}` : ''}`;
  return { text, values: p.values };
}
