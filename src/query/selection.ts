// What `query` and `anomalies` say when their answer is empty: a filter that matches no series is a usage
// error naming it and listing what exists; selected series without readings in the range are a note.
import {
  anyReadingIn,
  countSeries,
  readingsExtent,
  seriesNames,
  type SeriesFilter,
} from '../db/sql/query.js';
import type { Db, Queryable, Sql } from '../db/types.js';
import type { StorageEngine } from '../engine/types.js';
import { usageError } from '../errors.js';
import type { TimeRange } from './time.js';

/** Names listed in a message, at most. */
const LISTED = 10;

const hasFilter = (f: SeriesFilter) =>
  f.metric !== undefined || f.devices !== undefined || f.deviceLike !== undefined;

/** A flag value as it could be typed again. */
function typed(value: string): string {
  return /^[\w.,:@%+/=-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function metricFlags(f: SeriesFilter): string[] {
  return f.metric === undefined ? [] : [`--metric ${typed(f.metric)}`];
}

function deviceFlags(f: SeriesFilter): string[] {
  return [
    ...(f.devices ? [`--device ${typed(f.devices.join(','))}`] : []),
    ...(f.deviceLike !== undefined ? [`--device-like ${typed(f.deviceLike)}`] : []),
  ];
}

async function names(db: Queryable, column: 'metric' | 'device_id', filter: SeriesFilter): Promise<string> {
  const { rows } = await db.query<{ total: number; names: string[] }>(seriesNames(column, filter, LISTED));
  const { total, names: list } = rows[0] ?? { total: 0, names: [] };
  if (total === 0) return 'none';
  return list.join(', ') + (total > list.length ? `, … (${total} in all)` : '');
}

const count = async (db: Queryable, filter: SeriesFilter) =>
  (await db.query<{ n: number }>(countSeries(filter))).rows[0]?.n ?? 0;

/**
 * Throws the usage error `no series matches --metric nosuch (metrics: a, b, c)` when the filter selects no
 * series: it names the filters that match nothing on their own and lists what exists, or, when each
 * matches on its own but not together, the metrics of the devices selected. No-op when series match, or
 * when there is no filter (an empty store is not a usage error).
 */
export async function assertSeriesMatch(db: Queryable, filter: SeriesFilter): Promise<void> {
  if (!hasFilter(filter) || (await count(db, filter)) > 0) return;
  const byMetric = { metric: filter.metric };
  const byDevice = { devices: filter.devices, deviceLike: filter.deviceLike };
  const parts: string[] = [];
  const lists: string[] = [];
  if (filter.metric !== undefined && (await count(db, byMetric)) === 0) {
    parts.push(...metricFlags(filter));
    lists.push(`metrics: ${await names(db, 'metric', {})}`);
  }
  const deviceGiven = filter.devices !== undefined || filter.deviceLike !== undefined;
  if (deviceGiven && (await count(db, byDevice)) === 0) {
    parts.push(...deviceFlags(filter));
    lists.push(`devices: ${await names(db, 'device_id', {})}`);
  }
  if (parts.length === 0) {
    // Each matches on its own: the metric is not measured by the devices selected.
    parts.push(...metricFlags(filter), ...deviceFlags(filter));
    lists.push(`metrics of ${deviceFlags(filter).join(' ')}: ${await names(db, 'metric', byDevice)}`);
  }
  throw usageError(`no series matches ${parts.join(' ')} (${lists.join('; ')})`);
}

/** `the selected series hold no readings` (or `the store holds`, without a filter). */
export function holdsNoReadings(filter: SeriesFilter): string {
  return `${hasFilter(filter) ? 'the selected series hold' : 'the store holds'} no readings`;
}

/**
 * The rows of a per-series statement over the selected series: one run, or on an engine that routes series
 * in groups (Citus), one run per group, `db.maxParallel` at a time, each with the filter narrowed to the
 * group's ids. Rows with an `id` come back in the series' device, metric order.
 */
export async function perSeriesRows<R extends object>(
  db: Db,
  engine: StorageEngine,
  filter: SeriesFilter,
  statement: (filter: SeriesFilter) => Sql,
): Promise<R[]> {
  const routed = await engine.seriesGroups(db, filter);
  if (!routed) return (await db.query<R>(statement(filter))).rows;
  const rows: R[] = [];
  const { groups } = routed;
  for (let i = 0; i < groups.length; i += db.maxParallel) {
    const runs = groups.slice(i, i + db.maxParallel).map((ids) => db.query<R>(statement({ ...filter, ids })));
    for (const r of await Promise.all(runs)) rows.push(...r.rows);
  }
  const rank = new Map(routed.order.map((id, i) => [id, i]));
  const at = (r: R) => ('id' in r ? (rank.get(r.id as number) ?? 0) : 0);
  return rows.sort((a, b) => at(a) - at(b));
}

/** `no readings between A and B`, and where the selected series do have readings. */
export async function noReadingsNote(
  db: Db,
  engine: StorageEngine,
  filter: SeriesFilter,
  range: TimeRange,
): Promise<string> {
  type Extent = { first: Date | null; last: Date | null };
  const rows = await perSeriesRows<Extent>(db, engine, filter, readingsExtent);
  const times = (k: keyof Extent) => rows.flatMap((r) => (r[k] ? [new Date(r[k]).getTime()] : []));
  const firsts = times('first');
  const lasts = times('last');
  const first = firsts.length ? Math.min(...firsts) : null;
  const last = lasts.length ? Math.max(...lasts) : null;
  const what = hasFilter(filter) ? 'the selected series hold' : 'the store holds';
  const where =
    first !== null && last !== null
      ? `${what} readings from ${new Date(first).toISOString()} to ${new Date(last).toISOString()}`
      : holdsNoReadings(filter);
  return `no readings between ${range.since.toISOString()} and ${range.until.toISOString()} (${where})`;
}

/** The note for an empty result when the selected series have no reading in the range, else undefined. */
export async function emptyRangeNote(
  db: Db,
  engine: StorageEngine,
  filter: SeriesFilter,
  range: TimeRange,
): Promise<string | undefined> {
  // Per shard on Citus too: there the EXISTS over every shard gathered the rows first (2.8 s where one
  // server answers in 6 ms, 5M readings).
  const rows = await perSeriesRows<{ found: boolean }>(db, engine, filter, (f) =>
    anyReadingIn(f, { from: range.since, to: range.until }),
  );
  return rows.some((r) => r.found) ? undefined : noReadingsNote(db, engine, filter, range);
}
