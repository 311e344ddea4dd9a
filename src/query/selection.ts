// What `query` and `anomalies` say when their answer is empty: a filter that matches no series is a usage
// error naming it and listing what exists; selected series without readings in the range are a note.
import {
  anyReadingIn,
  countSeries,
  readingsExtent,
  seriesNames,
  type SeriesFilter,
} from '../db/sql/query.js';
import type { Queryable } from '../db/types.js';
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

/** `no readings between A and B`, and where the selected series do have readings. */
export async function noReadingsNote(db: Queryable, filter: SeriesFilter, range: TimeRange): Promise<string> {
  const { rows } = await db.query<{ first: Date | null; last: Date | null }>(readingsExtent(filter));
  const first = rows[0]?.first;
  const last = rows[0]?.last;
  const what = hasFilter(filter) ? 'the selected series hold' : 'the store holds';
  const where =
    first && last
      ? `${what} readings from ${new Date(first).toISOString()} to ${new Date(last).toISOString()}`
      : holdsNoReadings(filter);
  return `no readings between ${range.since.toISOString()} and ${range.until.toISOString()} (${where})`;
}

/** The note for an empty result when the selected series have no reading in the range, else undefined. */
export async function emptyRangeNote(
  db: Queryable,
  filter: SeriesFilter,
  range: TimeRange,
): Promise<string | undefined> {
  const { rows } = await db.query<{ found: boolean }>(
    anyReadingIn(filter, { from: range.since, to: range.until }),
  );
  return rows[0]?.found ? undefined : noReadingsNote(db, filter, range);
}
